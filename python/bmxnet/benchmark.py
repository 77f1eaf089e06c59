"""How fast a model runs on this machine, and where the time goes (``bmxnet benchmark``).

A converted model runs through libbmx_runtime (numpy only: MXNet is not imported); with
``mxnet=True`` the same files also run through MXNet + the bmx_ op library, and with
``float_model`` a float model (for example the export before conversion) runs through MXNet,
so one report answers "what does the runtime gain here" and "what does binarizing gain here".
With ``float_twin`` (the same network with every binary layer in float32: the zoo model built
with ``bits=32, bits_a=32``, exported and converted) the twin runs through the runtime too, and
the report sets the measured speed-up (twin over converted model) beside the one
bmxnet.speed_model predicts from the converted model's layers.
A model that is not converted runs through MXNet alone.

Every side is timed as ``smd_hpi/runtime_bench.py`` (``make bench-runtime``) times it, so that
the ratios compare: one predict call (input in, forward, output out) on a batch of random
values, in alternating runs of 5 calls per side after an untimed one, medians compared.
"""
import json
import math
import os
import resource
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .model_files import PACKED_OPS, model_files

__all__ = ["benchmark", "format_report", "is_converted"]

_KINDS = ("binary", "float", "data")
_KIND_LABELS = {"binary": "binary layers", "float": "float layers", "data": "data movement"}
_RUN = 5  # calls per side in a row (runtime_bench.py's _interleaved)


def is_converted(graph: dict) -> bool:
    """True when the symbol graph (parsed JSON) holds the converter's packed binary layers."""
    return any(node.get("op") in PACKED_OPS for node in graph.get("nodes", []))


def _stats(times: List[float]) -> dict:
    ordered = sorted(times)

    def rank(q):  # nearest rank, as bmx_benchmark
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]
    return dict(min=ordered[0], median=rank(0.5), p90=rank(0.9), max=ordered[-1],
                mean=sum(ordered) / len(ordered), runs=len(ordered))


def _measure(calls: Dict[str, Callable[[], object]], warmup: int, runs: int,
             min_seconds: float) -> Dict[str, List[float]]:
    """Seconds per call of each side: `warmup` untimed calls each, then alternating runs of
    _RUN timed calls (each after one untimed call, so that each side finds its own data in the
    caches) until every side has `runs` calls and `min_seconds` have passed."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times = {name: [] for name in calls}
    start = time.perf_counter()
    while (min(len(t) for t in times.values()) < runs
           or time.perf_counter() - start < min_seconds):
        for name, call in calls.items():
            call()
            for _ in range(_RUN):
                t = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t)
    return times


def _mxnet_side(symbol_file: str, params_file: str, x: np.ndarray):
    """(call, load seconds) of a model through MXNet with the bmx_ ops: SymbolBlock.imports,
    hybridized with static_alloc, as runtime_bench.py runs it. Load includes the first call
    (MXNet builds its graph there)."""
    import warnings

    import mxnet as mx

    from . import _lib

    _lib.load()
    start = time.perf_counter()
    with warnings.catch_warnings():  # "Cannot decide type for ... data": it is float32
        warnings.simplefilter("ignore")
        block = mx.gluon.SymbolBlock.imports(symbol_file, ["data"], params_file)
    block.hybridize(static_alloc=True)
    xm = mx.nd.array(x)

    def call():
        out = block(xm)
        (out[0] if isinstance(out, (list, tuple)) else out).wait_to_read()
    call()
    return call, time.perf_counter() - start


def _profile(pred, x, count: int) -> dict:
    """Per-step medians over `count` profiled forwards, with totals per kind."""
    runs, forwards = [], []
    for _ in range(count):
        steps, seconds = pred.profile(x)
        runs.append(steps)
        forwards.append(seconds)
    rows = []
    for i, step in enumerate(runs[0]):
        row = {k: step[k] for k in ("node", "op", "kernel", "kind", "output_shape",
                                    "binary_macs", "float_macs")}
        row["seconds"] = _stats([r[i]["seconds"] for r in runs])["median"]
        rows.append(row)
    total = sum(r["seconds"] for r in rows)
    totals = {}
    for kind in _KINDS:
        of_kind = [r for r in rows if r["kind"] == kind]
        seconds = sum(r["seconds"] for r in of_kind)
        macs = sum(r["binary_macs"] + r["float_macs"] for r in of_kind)
        totals[kind] = dict(layers=len(of_kind), seconds=seconds,
                            binary_macs=sum(r["binary_macs"] for r in of_kind),
                            float_macs=sum(r["float_macs"] for r in of_kind),
                            share=seconds / total if total else 0.0,
                            macs_per_second=macs / seconds if macs and seconds else 0.0)
    for row in rows:
        row["share"] = row["seconds"] / total if total else 0.0
    return dict(runs=count, forward_seconds_median=_stats(forwards)["median"],
                steps_seconds_sum=total, steps=rows, totals=totals)


def benchmark(model, input_shape: Optional[Sequence[int]] = None, threads: Optional[int] = None,
              warmup: int = 3, runs: int = 10, min_seconds: float = 1.0,
              profile: bool = False, mxnet: bool = False, float_model=None,
              epoch: Optional[int] = None, float_twin=None, calibrate: bool = True) -> dict:
    """Times `model` (a prefix or either file) and returns the report as a dict: the model,
    its input shape, per side ("runtime", "mxnet", "float") its load seconds and latency
    (min, median, p90, max, mean, runs), the ratios of each MXNet side's median to the
    runtime's, the process's peak memory, and with `profile` the runtime's per-step profile.
    `threads` sets the runtime's threads and, when MXNet is not imported yet, its
    OMP_NUM_THREADS. With `float_twin` (a converted model's float twin) the side "float_twin"
    runs through the runtime and "speedup" holds the predicted and measured speed-ups, the
    throughputs calibrated on this machine, or the stated table when `calibrate` is False.
    Raises ValueError (bad input), FileNotFoundError, BMXRuntimeError."""
    from .input_shape import model_input_shape

    if runs < 1 or warmup < 0 or min_seconds < 0:
        raise ValueError("runs must be at least 1, warmup and min_seconds at least 0")
    symbol_file, params_file = model_files(model, epoch)
    with open(symbol_file) as f:
        graph = json.load(f)
    converted = is_converted(graph)
    if float_twin is not None and not converted:
        raise ValueError(f"--float-twin compares a converted model with its float twin, but "
                         f"{symbol_file} is not converted; convert it with model-converter")
    if input_shape is None:
        input_shape, guessed = model_input_shape(symbol_file, params_file, graph)
        if guessed:
            raise ValueError(f"{symbol_file} does not record its input shape; give it with "
                             f"--input-shape N,C,H,W")
    shape = tuple(int(d) for d in input_shape)
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    needs_mxnet = mxnet or float_model is not None or not converted
    if needs_mxnet:
        from . import HAVE_MXNET

        if not HAVE_MXNET:
            why = ("--mxnet and --float run through MXNet" if converted else
                   f"{symbol_file} is not converted, so only MXNet runs it (convert it with "
                   f"model-converter for the runtime)")
            raise ValueError(f"{why}, and MXNet is not installed (pip install mxnet==1.9.1)")
        if threads is not None and "mxnet" not in sys.modules:
            os.environ["OMP_NUM_THREADS"] = str(threads)

    report = dict(model=symbol_file, params=params_file, converted=converted,
                  input_shape=list(shape), threads=threads, sides={}, ratios={})
    calls, loads, pred, twin = {}, {}, None, None
    try:
        if converted:
            from . import runtime

            start = time.perf_counter()
            pred = runtime.Predictor((symbol_file, params_file), shape, threads=threads)
            loads["runtime"] = time.perf_counter() - start
            calls["runtime"] = lambda: pred.predict(x)
            plan = pred.plan
            report.update(isa=plan["isa"], float_backend=plan["float_backend"])
        if mxnet or not converted:
            calls["mxnet"], loads["mxnet"] = _mxnet_side(symbol_file, params_file, x)
        if float_model is not None:
            float_symbol, float_params = model_files(float_model)
            calls["float"], loads["float"] = _mxnet_side(float_symbol, float_params, x)
            report["float_model"] = float_symbol
        if float_twin is not None:
            twin_symbol, twin_params = model_files(float_twin)
            with open(twin_symbol) as f:
                if is_converted(json.load(f)):
                    raise ValueError(
                        f"{twin_symbol} has binary layers, so it is no float twin; build the "
                        f"same model with bits=32, bits_a=32, export and convert it")
            start = time.perf_counter()
            twin = runtime.Predictor((twin_symbol, twin_params), shape, threads=threads)
            loads["float_twin"] = time.perf_counter() - start
            calls["float_twin"] = lambda: twin.predict(x)
            report["float_twin"] = twin_symbol
        times = _measure(calls, warmup, runs, min_seconds)
        for name in calls:
            report["sides"][name] = dict(load_seconds=loads[name], latency_seconds=_stats(
                times[name]))
        if "runtime" in calls:
            base = report["sides"]["runtime"]["latency_seconds"]["median"]
            for name in calls:
                if name != "runtime":
                    report["ratios"][f"{name}/runtime"] = (
                        report["sides"][name]["latency_seconds"]["median"] / base)
            if profile:
                report["profile"] = _profile(pred, x, len(times["runtime"]))
        if twin is not None:
            from . import speed_model

            tp = speed_model.calibrate(threads or 1) if calibrate else speed_model.STATED
            expected = speed_model.expect(speed_model.plan_steps(pred.plan, graph), tp)
            measured = report["ratios"]["float_twin/runtime"]
            report["speedup"] = dict(predicted=expected.speedup, measured=measured,
                                     off=expected.speedup / measured - 1,
                                     binary_mac_share=expected.binary_mac_share,
                                     throughputs=expected.source)
    finally:
        for p in (pred, twin):
            if p is not None:
                p.close()
    report["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return report


_SIDE_LABELS = {"runtime": "libbmx_runtime", "mxnet": "MXNet + bmx_ ops",
                "float": "float model, MXNet", "float_twin": "float twin, runtime"}


def _count(n: int) -> str:
    if not n:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.2f}{suffix}"
    return str(n)


def _ratio_words(ratio: float) -> str:
    """A side's median over the runtime's, in words: "2.10x slower" or "1.50x faster"."""
    return f"{ratio:.2f}x slower" if ratio >= 1 else f"{1 / ratio:.2f}x faster"


def format_report(report: dict) -> str:
    """The report as text: the sides side by side, the ratios, then the profile."""
    shape = ",".join(str(d) for d in report["input_shape"])
    lines = [f"model:        {report['model']}"
             + ("" if report["converted"] else " (not converted: MXNet only)"),
             f"input:        data {shape} (random)"]
    if "float_model" in report:
        lines.append(f"float model:  {report['float_model']}")
    if "float_twin" in report:
        lines.append(f"float twin:   {report['float_twin']}")
    if "isa" in report:
        lines.append(f"kernels:      binary {report['isa']}, float {report['float_backend']}, "
                     f"threads {report['threads'] or 'default'}")
    names = list(report["sides"])
    head = [""] + [_SIDE_LABELS[n] for n in names]
    rows = [["load ms"] + [f"{report['sides'][n]['load_seconds'] * 1e3:.2f}" for n in names]]
    for stat in ("min", "median", "p90", "max"):
        rows.append([f"{stat} ms"] + [f"{report['sides'][n]['latency_seconds'][stat] * 1e3:.3f}"
                                      for n in names])
    rows.append(["runs"] + [str(report["sides"][n]["latency_seconds"]["runs"]) for n in names])
    if report["ratios"]:
        rows.append(["vs runtime"] + ["1.00x" if n == "runtime" else
                                      _ratio_words(report["ratios"][n + "/runtime"])
                                      for n in names])
    widths = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
    lines.append("")
    for r in [head] + rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    lines.append("")
    if "speedup" in report:
        s = report["speedup"]
        lines.append(f"speed-up over the float twin: predicted {s['predicted']:.1f}, measured "
                     f"{s['measured']:.1f} ({100 * abs(s['off']):.0f}% "
                     f"{'over' if s['off'] > 0 else 'under'}; binary MACs "
                     f"{100 * s['binary_mac_share']:.1f}%; {s['throughputs']})")
    lines.append(f"peak memory:  {report['peak_rss_bytes'] / 2 ** 20:.1f} MiB (this process's "
                 f"maximum resident set)")
    prof = report.get("profile")
    if prof:
        lines += ["", f"per layer (median of {prof['runs']} profiled forwards):"]
        head = ["node", "op", "kernel", "output", "bin MACs", "float MACs", "time ms", "share"]
        body = [[r["node"], r["op"], r["kernel"], ",".join(map(str, r["output_shape"])),
                 _count(r["binary_macs"]), _count(r["float_macs"]), f"{r['seconds'] * 1e3:.4f}",
                 f"{100 * r['share']:.1f}%"] for r in prof["steps"]]
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        for r in [head] + body:
            lines.append("  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        lines += ["", "totals per kind:"]
        for kind in _KINDS:
            t = prof["totals"][kind]
            lines.append(f"  {_KIND_LABELS[kind]:<14} {t['layers']:4d} layers "
                         f"{_count(t['binary_macs']):>9} bin MACs "
                         f"{_count(t['float_macs']):>9} float MACs "
                         f"{t['seconds'] * 1e3:9.4f} ms {100 * t['share']:5.1f}%"
                         + (f" {t['macs_per_second'] / 1e9:8.1f} GMAC/s"
                            if t["macs_per_second"] else ""))
        median = report["sides"]["runtime"]["latency_seconds"]["median"]
        lines.append(f"  layers sum     {prof['steps_seconds_sum'] * 1e3:.4f} ms = "
                     f"{100 * prof['steps_seconds_sum'] / median:.1f}% of the median predict "
                     f"call ({median * 1e3:.4f} ms)")
    return "\n".join(lines)
