"""The inputs of the op library's ops under BMXNet v2's names passed by keyword, as the fork's
own ops took them: ``mx.nd.BinaryInferenceConvolution(data=x, weight=w, kernel=(3, 3), ...)``.

MXNet's loader of op libraries gives their ops no input names, so a keyword input would reach
the op as an attribute; the functions installed here in ``mx.nd`` and ``mx.sym`` move the
named inputs into place first. Positional inputs work as before.
"""
import functools

# op -> its inputs, in order (bias: refused with no_bias=False, see v2_inference_attrs.h)
KEYWORD_INPUTS = {
    "BinaryInferenceConvolution": ("data", "weight", "bias"),
    "BinaryInferenceFullyConnected": ("data", "weight", "bias"),
}


def _with_keyword_inputs(fn, names):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        inputs = list(args)
        for name in names[len(inputs):]:
            if name not in kwargs:
                break
            inputs.append(kwargs.pop(name))
        return fn(*inputs, **kwargs)

    call.bmx_keyword_inputs = True
    return call


def install():
    """Wraps the ops of KEYWORD_INPUTS in mx.nd and mx.sym (idempotent)."""
    import mxnet as mx

    for module in (mx.nd, mx.sym):
        for op, names in KEYWORD_INPUTS.items():
            fn = getattr(module, op, None)
            if fn is not None and not getattr(fn, "bmx_keyword_inputs", False):
                setattr(module, op, _with_keyword_inputs(fn, names))
