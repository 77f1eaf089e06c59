"""Quantized Gluon layers: the float Gluon layers plus quantization of inputs and weights.

``QActivation``, ``QConv1D``, ``QConv2D`` and ``QDense`` subclass Gluon's ``HybridBlock`` /
``Conv1D`` / ``Conv2D`` / ``Dense`` and add only quantization; everything else (``groups``,
``dilation``, ``use_bias``, initializers, ``flatten``, prefixes, ...) behaves as in Gluon.

Options (all layers):

- ``bits`` (weights) and ``bits_a`` (activations, i.e. the layer's input), 1..32, default 1;
  BMXNet v1's ``weight_bit`` / ``act_bit`` are accepted as aliases. 1 uses the named quantizer,
  2..31 DoReFa k-bit quantization simulated in float (as in BMXNet; model-converter leaves
  such layers float and says so), 32 no quantization.
- ``input_quantizer`` / ``kernel_quantizer`` (as in larq): the quantizers of the layer's input
  and of its weights, names (see ``bmxnet.quantizers``) or callables ``q(F, x, **options)``;
  default ``"det_sign"``. ``weight_quantization`` (BMXNet's spelling) is an alias of
  ``kernel_quantizer``; ``QActivation`` takes ``quantizer`` (alias ``activation``).
- ``activation`` (QConv1D, QConv2D, QDense): Gluon's output activation (``"relu"``, ...), applied
  after the layer as in Gluon's ``Conv2D`` / ``Dense``; default none. A quantizer name given here
  is refused with a pointer to ``input_quantizer``.
- ``clip_threshold``: gradient cancelling of the sign quantizers and of k-bit activations
  (default 1.0; 0 disables).
- ``scaling``: ``None`` or ``"xnor"`` (XNOR-Net, Rastegari et al. 2016: the output of output
  channel o is multiplied by ``mean(|W[o]|)``, the mean magnitude of its latent weights, with the
  gradient stopped through the mean as larq's ``MagnitudeAwareSign``).
- ``pad_value`` (convolutions): the value of the padded border after binarization: -1 (default,
  as BMXNet v2) or +1 cost nothing at inference; 0 is plain zero padding, corrected exactly at
  inference. It applies when the input is binarized (``bits_a == 1``); otherwise the
  convolution zero-pads as in Gluon.
- ``offset`` (default False): return ``(h + K) / 2`` instead of the +-1 dot product ``h``,
  where ``K`` is the fan-in (weights per output): the xnor-popcount count, as BMXNet v2's
  layers return it (its ``no_offset=False``). Needs 1-bit sign quantizers for weights and
  input, and excludes ``scaling`` and ABC-Net, as in v2. Exported as
  ``_div_scalar(_plus_scalar(y, scalar=K), scalar=2)``, which model-converter folds exactly.
- ``weight_bases`` / ``act_bases`` (QConv1D/QConv2D): ABC-Net (Lin et al. 2017, "Towards
  Accurate Binary Convolutional Network"): the weights are approximated by M binary bases
  ``B_m = sign(W - mean(W) + u_m std(W))``, ``u_m = -1 + 2 m / (M - 1)`` (``u = 0`` when M = 1),
  the input by N binary bases ``A_n = sign(x + v_n)`` with learned shifts ``v_n``, and the layer
  computes ``sum_{m,n} alpha_m beta_n conv(A_n, B_m)`` with learned ``alpha`` and ``beta``.

The graphs these layers export are the contract with model-converter; they are spelled out
op by op in DESIGN.md section 3, "Exported patterns".
"""
import itertools

import numpy as np
from mxnet import init as _init
from mxnet import symbol
from mxnet.gluon import HybridBlock
from mxnet.gluon import nn as gnn
from mxnet.gluon.block import _flatten

from . import quantizers, ste_sign

__all__ = ["QActivation", "QConv1D", "QConv2D", "QDense", "resolve_deferred_shapes",
           "add_offset"]

_trace_counter = itertools.count()


def dense_weight_shape(units, flatten, input_shape):
    """A Dense layer's weight shape for `input_shape`: (units, in_units), where in_units is the
    product of every axis after the batch with flatten=True, else of the last axis."""
    in_units = 1
    for d in (input_shape[1:] if flatten else input_shape[-1:]):
        in_units *= d
    return (units, in_units)


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

    def infer_shape(self, *args):
        """Gluon's infer_shape, with the weight's input dimension taken from the input."""
        resolve_deferred_shapes(self, *args)
        return super().infer_shape(*args)


def resolve_deferred_shapes(block, *args):
    """Completes the weight shapes of quantized layers inside `block` for inputs `args`.

    A first forward pass does this by itself; call it before ``block.infer_shape(*args)`` when
    shapes are wanted without one."""
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


def _unresolved_layers(block):
    found = []
    block.apply(lambda b: found.append(b) if isinstance(b, _DeferredInputShape)
                and b._shape_unknown() else None)
    return found


_gluon_deferred_infer_shape = HybridBlock._deferred_infer_shape


def _deferred_infer_shape(self, *args):
    """Gluon's deferred shape inference; when it fails on a block that holds quantized layers
    with unknown weight shapes, those are resolved from the traced graph and it runs again.
    Blocks without such layers get Gluon's result (or error) unchanged."""
    import contextlib
    import io

    try:
        # MXNet prints "infer_shape error. Arguments: ..." before raising; the retry below
        # is the expected path for such layers, so that print is not shown.
        with contextlib.redirect_stdout(io.StringIO()):
            return _gluon_deferred_infer_shape(self, *args)
    except ValueError:
        if not _unresolved_layers(self):
            raise
    resolve_deferred_shapes(self, *args)
    return _gluon_deferred_infer_shape(self, *args)


# Gluon calls this hook, on the outermost hybridized block, when parameters are still
# deferred at the first forward; that block may be any container of our layers.
HybridBlock._deferred_infer_shape = _deferred_infer_shape

_gluon_build_cache = HybridBlock._build_cache


def _build_cache(self, *args):
    """Gluon's graph build; when quantized layers learned their weight shapes during it, the
    graph is traced again: the first trace carries their partial shapes (and counts an offset's
    fan-in in the graph), which the cached graph and its export would keep."""
    unresolved = _unresolved_layers(self)
    _gluon_build_cache(self, *args)
    if unresolved and not any(layer._shape_unknown() for layer in unresolved):
        for layer in unresolved:
            layer.weight._var = None
        self.apply(lambda b: b._clear_cached_op() if isinstance(b, HybridBlock) else None)
        _gluon_build_cache(self, *args)


HybridBlock._build_cache = _build_cache


# ------------------------------------------------------------------------------------------
# Options shared by the layers
# ------------------------------------------------------------------------------------------

def _width(layer, what, values):
    """The one bit width given under several names (bits / weight_bit, ...), default 1."""
    given = {k: v for k, v in values.items() if v is not None}
    widths = set(given.values())
    if len(widths) > 1:
        raise ValueError(f"{layer}: {' and '.join(f'{k}={v}' for k, v in given.items())} "
                         f"disagree; give the {what} width once")
    width = widths.pop() if widths else 1
    if not isinstance(width, (int, np.integer)) or not 1 <= width <= 32:
        raise ValueError(f"{layer}: {'/'.join(given)} must be an integer in 1..32, "
                         f"got {width!r}")
    return int(width)


def _bind(layer, quantizer, bits, mode, clip_threshold):
    """quantizer(F, x) for `bits`: the named one at 1 bit (or when it is not a sign
    quantizer), DoReFa at 2..31 bits, identity at 32."""
    try:
        q = quantizers.get(quantizer)
    except ValueError as e:
        raise ValueError(f"{layer}: {e}") from None
    if bits == 32:
        q = quantizers.identity
    elif bits > 1 and getattr(q, "one_bit", False):
        q = quantizers.dorefa

    library = ste_sign.library_ops_enabled()  # as constructed: see ste_sign.library_ops

    def quantize(F, x):
        with ste_sign.library_ops(library):
            return q(F, x, clip_threshold=clip_threshold, bits=bits, mode=mode)
    quantize.one_bit = bool(getattr(q, "one_bit", False))
    quantize.__name__ = getattr(q, "__name__", "quantizer")
    return quantize


def _one_of(layer, what, values, default="det_sign"):
    """The one quantizer given under several names (kernel_quantizer / weight_quantization)."""
    given = {k: v for k, v in values.items() if v is not None}
    if len({id(v) if callable(v) else v for v in given.values()}) > 1:
        raise ValueError(f"{layer}: {' and '.join(f'{k}={v!r}' for k, v in given.items())} "
                         f"disagree; give the {what} quantizer once")
    return next(iter(given.values())) if given else default


def _check_activation(layer, activation):
    """`activation` is Gluon's output activation; a quantizer there is a mix-up of names."""
    if activation is None:
        return
    if isinstance(activation, str) and activation not in quantizers.names():
        return
    raise ValueError(f"{layer}: activation={activation!r} is Gluon's output activation (a name "
                     f"such as 'relu'); to quantize the layer's input pass "
                     f"input_quantizer={activation!r}")


def _check_pad_value(layer, pad_value):
    if pad_value not in (-1, 0, 1):
        raise ValueError(f"{layer}: pad_value must be -1, 0 or 1, got {pad_value!r}")


def _check_scaling(layer, scaling):
    if scaling not in (None, "xnor"):
        raise ValueError(f"{layer}: scaling must be None or 'xnor', got {scaling!r}")


def _fan_in(shape):
    """prod(shape[1:]), or None while the shape is not known yet."""
    if not shape or any(d <= 0 for d in shape):
        return None
    return int(np.prod(shape[1:], dtype=np.int64))


def add_offset(F, h, param, weight):
    """(h + K) / 2 with K the fan-in of weight parameter `param` (`weight`: its value in the
    graph). While Gluon traces a graph only to infer the deferred weight shape (that trace also
    runs the first call), K is counted in the graph; once the shape is known it is a constant,
    as in the exported graph."""
    k = _fan_in(param.shape if F is symbol else weight.shape)
    if k is not None:
        return (h + k) / 2
    k = F.sum(F.ones_like(F.slice_axis(weight, axis=0, begin=0, end=1)))
    return F.broadcast_add(h, k) / 2


class QActivation(HybridBlock):
    """Quantizes activations: sign(x) with a straight-through gradient by default.

    quantizer (alias activation): a name from ``bmxnet.quantizers`` or a callable.
    bits (alias bits_a, act_bit): 1 uses `quantizer`, 2..31 DoReFa, 32 passes x through.
    """

    def __init__(self, quantizer=None, clip_threshold=1.0, bits=None, bits_a=None,
                 act_bit=None, activation=None, **kwargs):
        super().__init__(**kwargs)
        self._bits = _width("QActivation", "activation",
                            {"bits": bits, "bits_a": bits_a, "act_bit": act_bit})
        self._clip_threshold = clip_threshold
        quantizer = _one_of("QActivation", "activation",
                            {"quantizer": quantizer, "activation": activation})
        self._quantize = _bind("QActivation", quantizer, self._bits, "activations",
                               clip_threshold)

    def hybrid_forward(self, F, x):
        return self._quantize(F, x)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._quantize.__name__}, bits={self._bits})"


class _QuantizedWeights(_DeferredInputShape):
    """Options common to QConv1D, QConv2D and QDense."""

    def _init_quantization(self, bits, bits_a, weight_bit, act_bit, input_quantizer,
                           kernel_quantizer, weight_quantization, clip_threshold, scaling):
        name = self.__class__.__name__
        self._bits = _width(name, "weight", {"bits": bits, "weight_bit": weight_bit})
        self._bits_a = _width(name, "activation", {"bits_a": bits_a, "act_bit": act_bit})
        _check_scaling(name, scaling)
        self._scaling = scaling
        self._clip_threshold = clip_threshold
        kernel_quantizer = _one_of(name, "weight", {"kernel_quantizer": kernel_quantizer,
                                                     "weight_quantization": weight_quantization})
        self._quantize_input = _bind(name, input_quantizer or "det_sign", self._bits_a,
                                     "activations", clip_threshold)
        self._quantize_weight = _bind(name, kernel_quantizer, self._bits, "weights",
                                      clip_threshold)
        # Pad values apply to binarized (+-1) inputs only.
        self._binary_input = self._bits_a == 1 and self._quantize_input.one_bit
        self._offset = False

    def _init_offset(self, offset):
        name = self.__class__.__name__
        if offset not in (True, False):
            raise ValueError(f"{name}: offset must be True or False, got {offset!r}")
        if offset and not (self._binary_input and self._bits == 1
                           and self._quantize_weight.one_bit):
            raise ValueError(f"{name}: offset=True needs 1-bit sign quantizers for weights and "
                             f"input (bits=1, bits_a=1); the offset (h + K) / 2 counts "
                             f"agreeing signs")
        if offset and (self._scaling or getattr(self, "_abc", False)):
            raise ValueError(f"{name}: offset=True excludes scaling and weight_bases/act_bases "
                             f"(as in BMXNet v2, scaled outputs have no offset)")
        self._offset = bool(offset)

    def _finish(self, F, out, weight):
        if self._offset:
            out = add_offset(F, out, self.weight, weight)
        return self.act(out) if self.act is not None else out

    def _scale(self, F, out, weight, bias, out_ndim):
        """out * mean|W| per output channel (XNOR-Net), then the bias."""
        shape = (1, -1) + (1,) * (out_ndim - 2)
        if self._scaling == "xnor":
            axes = tuple(range(1, out_ndim))  # all but the output channel
            s = F.reshape(F.BlockGrad(F.mean(F.abs(weight), axis=axes)), shape=shape)
            out = F.broadcast_mul(out, s)
        if bias is not None:
            out = F.broadcast_add(out, F.reshape(bias, shape=shape))
        return out

    def _quant_repr(self):
        s = f", bits={self._bits}, bits_a={self._bits_a}"
        if self._scaling:
            s += f", scaling={self._scaling!r}"
        if self._offset:
            s += ", offset=True"
        return s


class _QConv(_QuantizedWeights):
    """Quantized convolution (shared by QConv1D and QConv2D)."""

    def _init_qconv(self, pad_value, weight_bases, act_bases, **options):
        name = self.__class__.__name__
        _check_pad_value(name, pad_value)
        if self._kwargs.get("layout") not in ("NCW", "NCHW"):
            raise ValueError(f"{name}: only layout='NC{'HW' if self._ndim == 2 else 'W'}' "
                             f"is supported")
        self._init_quantization(**options)
        self._pad_value = pad_value
        for key, value in (("weight_bases", weight_bases), ("act_bases", act_bases)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: {key} must be a positive integer, got {value!r}")
        self._weight_bases, self._act_bases = int(weight_bases), int(act_bases)
        self._abc = self._weight_bases > 1 or self._act_bases > 1
        if self._abc:
            if self._bits != 1 or self._bits_a != 1 or not self._quantize_weight.one_bit \
                    or not self._quantize_input.one_bit:
                raise ValueError(f"{name}: weight_bases/act_bases (ABC-Net) need 1-bit sign "
                                 f"quantizers for weights and activations (bits=1, bits_a=1)")
            if self._scaling:
                raise ValueError(f"{name}: scaling and weight_bases/act_bases (ABC-Net) "
                                 f"exclude each other (ABC-Net learns its own scales)")
            M, N = self._weight_bases, self._act_bases
            shifts = np.array([(2 * n - (N - 1)) / N for n in range(N)], dtype=np.float32)
            with self.name_scope():
                self.weight_coef = self.params.get(
                    "weight_coef", shape=(M,), init=_init.Constant(1.0 / M))
                self.act_coef = self.params.get(
                    "act_coef", shape=(N,), init=_init.Constant(1.0 / N))
                self.act_shift = self.params.get(
                    "act_shift", shape=(N,), init=_init.Constant(shifts))
            # Base m of the weights: sign(W - mean(W) + u_m std(W)).
            self._u = [0.0] if M == 1 else [-1.0 + 2.0 * m / (M - 1) for m in range(M)]

    def _set_input_shape(self, shape):
        groups = self._kwargs["num_group"]
        self.weight.shape = (self._channels, shape[1] // groups) + tuple(self._kwargs["kernel"])

    def _pad(self, F, x, kwargs):
        """Pads binarized x with pad_value (instead of Convolution's zeros) when it applies."""
        pad = tuple(kwargs["pad"])
        if not (self._binary_input and self._pad_value != 0 and any(pad)):
            return x
        kwargs["pad"] = (0,) * len(pad)
        if len(pad) == 2:
            return F.pad(x, mode="constant", constant_value=self._pad_value,
                         pad_width=(0, 0, 0, 0, pad[0], pad[0], pad[1], pad[1]))
        # 1-D: Pad works on 4-D tensors only.
        x = F.pad(F.expand_dims(x, axis=2), mode="constant", constant_value=self._pad_value,
                  pad_width=(0, 0, 0, 0, 0, 0, pad[0], pad[0]))
        return F.reshape(x, shape=(0, 0, -1))

    def hybrid_forward(self, F, x, weight, bias=None, weight_coef=None, act_coef=None,
                       act_shift=None):
        self._record_input(F, x)
        kwargs = dict(self._kwargs)
        out_ndim = 2 + len(kwargs["kernel"])
        if self._abc:
            out = self._abc_forward(F, x, weight, weight_coef, act_coef, act_shift, kwargs)
            out = self._scale(F, out, weight, bias, out_ndim)
        else:
            x = self._pad(F, self._quantize_input(F, x), kwargs)
            w = self._quantize_weight(F, weight)
            if self._scaling:
                kwargs["no_bias"] = True
                out = self._scale(F, F.Convolution(x, w, name="fwd", **kwargs), weight, bias,
                                  out_ndim)
            elif bias is None:
                out = F.Convolution(x, w, name="fwd", **kwargs)
            else:
                out = F.Convolution(x, w, bias, name="fwd", **kwargs)
        return self._finish(F, out, weight)

    def _abc_forward(self, F, x, weight, weight_coef, act_coef, act_shift, kwargs):
        kwargs["no_bias"] = True
        mu = F.mean(weight)
        sd = F.sqrt(F.mean(F.square(F.broadcast_sub(weight, mu))))
        bases = [self._quantize_weight(F, F.broadcast_add(weight, F.BlockGrad(sd * u - mu)))
                 for u in self._u]
        conv_kwargs = None
        inputs = []
        for n in range(self._act_bases):
            shift = F.slice_axis(act_shift, axis=0, begin=n, end=n + 1)
            conv_kwargs = dict(kwargs)
            inputs.append(self._pad(F, self._quantize_input(F, F.broadcast_add(x, shift)),
                                    conv_kwargs))
        outs = []
        for m, base in enumerate(bases):
            alpha = F.slice_axis(weight_coef, axis=0, begin=m, end=m + 1)
            for n, a in enumerate(inputs):
                beta = F.slice_axis(act_coef, axis=0, begin=n, end=n + 1)
                outs.append(F.broadcast_mul(F.Convolution(a, base, **conv_kwargs),
                                            F.broadcast_mul(alpha, beta)))
        return outs[0] if len(outs) == 1 else F.add_n(*outs)

    def __repr__(self):
        s = super().__repr__()
        extra = self._quant_repr()
        if self._binary_input and any(self._kwargs["pad"]):
            extra += f", pad_value={self._pad_value}"
        if self._abc:
            extra += f", weight_bases={self._weight_bases}, act_bases={self._act_bases}"
        return s[:-1] + extra + ")" if s.endswith(")") else s


class QConv2D(_QConv, gnn.Conv2D):
    """Quantized 2-D convolution: quantize(input) * quantize(weight), as Gluon's Conv2D
    otherwise (binary by default: sign of both). See the module docstring for the options."""

    _ndim = 2

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1),
                 groups=1, pad_value=-1, input_quantizer="det_sign", kernel_quantizer=None,
                 clip_threshold=1.0, bits=None, bits_a=None, scaling=None, weight_bases=1,
                 act_bases=1, weight_bit=None, act_bit=None, weight_quantization=None,
                 activation=None, offset=False, **kwargs):
        layout = kwargs.get("layout", "NCHW")
        if layout != "NCHW":
            raise ValueError("QConv2D: only layout='NCHW' is supported")
        _check_activation("QConv2D", activation)
        super().__init__(channels, kernel_size, strides=strides, padding=padding,
                         dilation=dilation, groups=groups, activation=activation, **kwargs)
        self._init_qconv(pad_value, weight_bases, act_bases, bits=bits, bits_a=bits_a,
                         weight_bit=weight_bit, act_bit=act_bit,
                         input_quantizer=input_quantizer, kernel_quantizer=kernel_quantizer,
                         weight_quantization=weight_quantization,
                         clip_threshold=clip_threshold, scaling=scaling)
        self._init_offset(offset)


class QConv1D(_QConv, gnn.Conv1D):
    """Quantized 1-D convolution (layout NCW), as Gluon's Conv1D otherwise.
    See the module docstring for the options."""

    _ndim = 1

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                 pad_value=-1, input_quantizer="det_sign", kernel_quantizer=None,
                 clip_threshold=1.0, bits=None, bits_a=None, scaling=None, weight_bases=1,
                 act_bases=1, weight_bit=None, act_bit=None, weight_quantization=None,
                 activation=None, offset=False, **kwargs):
        layout = kwargs.get("layout", "NCW")
        if layout != "NCW":
            raise ValueError("QConv1D: only layout='NCW' is supported")
        _check_activation("QConv1D", activation)
        super().__init__(channels, kernel_size, strides=strides, padding=padding,
                         dilation=dilation, groups=groups, activation=activation, **kwargs)
        self._init_qconv(pad_value, weight_bases, act_bases, bits=bits, bits_a=bits_a,
                         weight_bit=weight_bit, act_bit=act_bit,
                         input_quantizer=input_quantizer, kernel_quantizer=kernel_quantizer,
                         weight_quantization=weight_quantization,
                         clip_threshold=clip_threshold, scaling=scaling)
        self._init_offset(offset)


class QDense(_QuantizedWeights, gnn.Dense):
    """Quantized fully-connected layer: quantize(input) . quantize(weight), as Gluon's Dense
    otherwise (binary by default). See the module docstring for the options."""

    def __init__(self, units, input_quantizer="det_sign", kernel_quantizer=None,
                 clip_threshold=1.0, bits=None, bits_a=None, scaling=None, weight_bit=None,
                 act_bit=None, weight_quantization=None, activation=None, offset=False,
                 **kwargs):
        _check_activation("QDense", activation)
        super().__init__(units, activation=activation, **kwargs)
        self._init_quantization(bits, bits_a, weight_bit, act_bit, input_quantizer,
                                kernel_quantizer, weight_quantization, clip_threshold, scaling)
        self._init_offset(offset)

    def _set_input_shape(self, shape):
        self.weight.shape = dense_weight_shape(self._units, self._flatten, shape)

    def hybrid_forward(self, F, x, weight, bias=None):
        self._record_input(F, x)
        x = self._quantize_input(F, x)
        w = self._quantize_weight(F, weight)
        if self._scaling:
            out = F.FullyConnected(x, w, no_bias=True, num_hidden=self._units,
                                   flatten=self._flatten, name="fwd")
            out = self._scale(F, out, weight, bias, 2)
        else:
            out = F.FullyConnected(x, w, bias, no_bias=bias is None, num_hidden=self._units,
                                   flatten=self._flatten, name="fwd")
        return self._finish(F, out, weight)

    def __repr__(self):
        s = super().__repr__()
        return s[:-1] + self._quant_repr() + ")" if s.endswith(")") else s
