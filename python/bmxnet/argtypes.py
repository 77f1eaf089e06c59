"""argparse ``type=`` checks shared by the commands and the example scripts.

Each returns the parsed value or raises ``argparse.ArgumentTypeError`` with the allowed values,
so a bad flag ends in argparse's one line (``PROG: error: argument --FLAG: ...``) and exit
status 2, never in a traceback.
"""
import argparse

__all__ = ["int_range", "float_range", "int_list", "shape", "one_line_errors"]


def int_range(low=None, high=None):
    """An integer in [low, high] (either bound may be None)."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or (low is not None and value < low) or \
                (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {_describe('an integer', low, high)}, "
                                             f"got {text!r}")
        return value
    parse.__name__ = "integer"
    return parse


def float_range(low=None, high=None, low_open=False, high_open=False):
    """A finite number in [low, high]; `low_open` / `high_open` exclude the bound."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = None
        ok = value is not None and value == value and abs(value) != float("inf")
        if ok and low is not None:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(
                f"expected {_describe('a number', low, high, low_open, high_open)}, got {text!r}")
        return value
    parse.__name__ = "number"
    return parse


def int_list(low=None):
    """Comma-separated integers, each >= low (empty text: [])."""
    item = int_range(low)

    def parse(text):
        try:
            return [item(v) for v in text.split(",") if v.strip()]
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {_describe('integers', low, None)}, got {text!r}"
            ) from None
    parse.__name__ = "integer list"
    return parse


def shape(text):
    """A shape such as ``1,3,224,224`` (or ``1x3x224x224``), every dimension positive."""
    try:
        dims = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        dims = ()
    if not dims or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 1,3,224,224, got {text!r}")
    return dims


def one_line_errors(parser):
    """Makes `parser` (and its sub-parsers) report a usage error as one line,
    ``PROG: error: MESSAGE (see PROG --help)``, and exit with status 2, instead of printing
    the whole usage first. Returns `parser`."""
    def error(message, parser=parser):
        parser.exit(2, f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")
    parser.error = error
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                one_line_errors(sub)
    return parser


def _describe(what, low, high, low_open=False, high_open=False):
    if low is not None and high is not None:
        if not low_open and not high_open:
            return f"{what} from {low:g} to {high:g}"
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        return f"{what} in {lo}{low:g}, {high:g}{hi}"
    if low is not None:
        if low == 0 and low_open:
            return f"{what} > 0"
        return f"{what} > {low:g}" if low_open else f"{what} >= {low:g}"
    if high is not None:
        return f"{what} < {high:g}" if high_open else f"{what} <= {high:g}"
    return what
