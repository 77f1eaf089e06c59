"""Quantized Gluon layers: the float Gluon layers plus binarization of inputs and weights.

Each layer binarizes its input and its weights with a quantizer (sign with a
straight-through gradient by default) and otherwise behaves like its Gluon parent.
The exported graph is what model-converter recognises (DESIGN.md section 3):
``sign(x) -> [Pad(pad_value)] -> Convolution(weight=sign(w))``.
"""
import itertools

from mxnet import symbol
from mxnet.gluon import HybridBlock
from mxnet.gluon import nn as gnn
from mxnet.gluon.block import _flatten

from . import quantizers

__all__ = ["QActivation", "QConv2D", "QDense"]

_trace_counter = itertools.count()


class _DeferredInputShape:
    """Deferred initialization for layers whose weight reaches its consumer through a sign op.

    MXNet's external-op API cannot infer an op's input shape from its output, so Gluon cannot
    learn a quantized weight's input dimension from the graph. These layers instead record
    the symbol of their input while the graph is traced, and `resolve_deferred_shapes` sets
    their weight shapes from those inputs, in trace order, before Gluon infers the rest.
    """

    _traced_input = None
    _trace_index = -1

    def _record_input(self, F, x):
        if F is symbol:
            self._traced_input = x
            self._trace_index = next(_trace_counter)

    def _shape_unknown(self):
        return any(d == 0 for d in self.weight.shape)

    def _set_input_shape(self, shape):
        raise NotImplementedError


def resolve_deferred_shapes(block, *args):
    """Completes the weight shapes of quantized layers inside `block` for inputs `args`."""
    layers = []

    def collect(b):
        if isinstance(b, _DeferredInputShape) and b._shape_unknown():
            layers.append(b)
    block.apply(collect)
    if not layers:
        return
    if isinstance(block, _DeferredInputShape):
        block._set_input_shape(args[0].shape)  # a layer called on its own
    else:
        inputs, _ = block._get_graph(*args)
        flat_args, _ = _flatten(args, "input")
        known = {i.name: a.shape for i, a in zip(inputs, flat_args)}
        for layer in sorted(layers, key=lambda b: b._trace_index):
            if layer._traced_input is None:
                continue
            params = {p.name: p.shape for p in block.collect_params().values()
                      if p.shape and all(d > 0 for d in p.shape)}
            names = set(layer._traced_input.list_arguments())
            given = {k: v for k, v in {**params, **known}.items() if k in names}
            _, out_shapes, _ = layer._traced_input.infer_shape(**given)
            layer._set_input_shape(out_shapes[0])
    # Re-trace with the completed shapes: the weights' cached symbols carry partial ones.
    for layer in layers:
        layer.weight._var = None
    block.apply(lambda b: b._clear_cached_op() if isinstance(b, HybridBlock) else None)


_gluon_infer_shape = HybridBlock.infer_shape


def _infer_shape(self, *args):
    resolve_deferred_shapes(self, *args)
    return _gluon_infer_shape(self, *args)


HybridBlock.infer_shape = _infer_shape


class QActivation(HybridBlock):
    """Binarizes activations: sign(x) with a straight-through gradient."""

    def __init__(self, activation="det_sign", clip_threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self._quantize = quantizers.get(activation)
        self._clip_threshold = clip_threshold

    def hybrid_forward(self, F, x):
        return self._quantize(F, x, clip_threshold=self._clip_threshold)


class QConv2D(_DeferredInputShape, gnn.Conv2D):
    """Binary 2-D convolution: sign(input) * sign(weight), as Gluon's Conv2D otherwise.

    pad_value: value of the padded border after binarization. -1 (default, as BMXNet v2)
    or +1 are free at inference; 0 is plain zero padding, corrected exactly at inference.
    """

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1),
                 groups=1, pad_value=-1, activation="det_sign", weight_quantization="det_sign",
                 clip_threshold=1.0, **kwargs):
        if pad_value not in (-1, 0, 1):
            raise ValueError(f"QConv2D: pad_value must be -1, 0 or 1, got {pad_value!r}")
        if kwargs.get("layout", "NCHW") != "NCHW":
            raise ValueError("QConv2D: only layout='NCHW' is supported")
        super().__init__(channels, kernel_size, strides=strides, padding=padding,
                         dilation=dilation, groups=groups, **kwargs)
        self._pad_value = pad_value
        self._quantize_input = quantizers.get(activation)
        self._quantize_weight = quantizers.get(weight_quantization)
        self._clip_threshold = clip_threshold

    def _set_input_shape(self, shape):
        groups = self._kwargs["num_group"]
        self.weight.shape = (self._channels, shape[1] // groups) + tuple(self._kwargs["kernel"])

    def hybrid_forward(self, F, x, weight, bias=None):
        self._record_input(F, x)
        kwargs = dict(self._kwargs)
        x = self._quantize_input(F, x, clip_threshold=self._clip_threshold)
        pad = tuple(kwargs["pad"])
        if self._pad_value != 0 and any(pad):
            # Pad after sign with an explicit value, so the border is ±1, not 0.
            x = F.pad(x, mode="constant", constant_value=self._pad_value,
                      pad_width=(0, 0, 0, 0, pad[0], pad[0], pad[1], pad[1]))
            kwargs["pad"] = (0, 0)
        w = self._quantize_weight(F, weight, clip_threshold=self._clip_threshold)
        if bias is None:
            out = F.Convolution(x, w, name="fwd", **kwargs)
        else:
            out = F.Convolution(x, w, bias, name="fwd", **kwargs)
        return self.act(out) if self.act is not None else out


class QDense(_DeferredInputShape, gnn.Dense):
    """Binary fully-connected layer: sign(input) . sign(weight), as Gluon's Dense otherwise."""

    def __init__(self, units, activation="det_sign", weight_quantization="det_sign",
                 clip_threshold=1.0, **kwargs):
        super().__init__(units, **kwargs)
        self._quantize_input = quantizers.get(activation)
        self._quantize_weight = quantizers.get(weight_quantization)
        self._clip_threshold = clip_threshold

    def _set_input_shape(self, shape):
        in_units = 1
        for d in (shape[1:] if self._flatten else shape[-1:]):
            in_units *= d
        self.weight.shape = (self._units, in_units)

    def hybrid_forward(self, F, x, weight, bias=None):
        self._record_input(F, x)
        x = self._quantize_input(F, x, clip_threshold=self._clip_threshold)
        w = self._quantize_weight(F, weight, clip_threshold=self._clip_threshold)
        out = F.FullyConnected(x, w, bias, no_bias=bias is None, num_hidden=self._units,
                               flatten=self._flatten, name="fwd")
        return self.act(out) if self.act is not None else out
