"""BMXNet v2's binary Gluon layers, with v2's names, arguments, defaults and forward values.

What differs from ``bmxnet.nn`` (the layers here follow BMXNet v2 exactly):

- ``QConv1D/2D/3D`` and ``QDense`` quantize only their weights; the input is quantized by a
  ``QActivation`` before them (``BinaryConvolution`` pairs the two).
- Offset output: a layer with 1-bit weights returns ``(h + K) / 2``, where ``h`` is the float
  convolution / dot product with the quantized weights and ``K`` the fan-in (weights per output,
  ``prod(weight.shape[1:])``): for +-1 inputs that is the xnor-popcount count. ``no_offset=True``
  returns ``h``; weight scaling (``apply_scaling=True``) turns the offset off. As in v2, ``QDense``
  adds the offset at every weight width unless ``no_offset``; the convolutions only at 1 bit.
- Padding: the convolutions pad their input with -1 (``Pad`` before ``Convolution``, which then
  has ``pad=0``), so padding is a binary value.
- ``use_bias`` and ``activation`` must stay off (ValueError otherwise); weights have
  ``wd_mult = 0``.
- Scaling (``apply_scaling``): the output is multiplied by ``mean(|W[o]|)`` per output channel;
  its gradient is stopped when the layer was built under ``approximation="xnor"``.
- Defaults come from ``binary_layer_config`` when an argument is None (see ``.config``).

Exported graph of ``QConv2D(c, k, padding=p)`` with 1-bit weights (as BMXNet v2 exports it, with
``sign`` the straight-through sign of ``bmxnet.ste_sign`` where the fork had its own op)::

    y = Convolution(Pad(x, constant_value=-1, pad_width=(0,0,0,0,p,p,p,p)),
                    sign(w), no_bias=True, pad=(0, 0))
    y = _div_scalar(_plus_scalar(y, scalar=K), scalar=2)                # the offset
    # with apply_scaling instead of the offset:
    y = broadcast_mul(y, transpose(mean(abs(w), axis=0, exclude=True, keepdims=True),
                                   axes=(1, 0, 2, 3)))                   # [stop_gradient]

and ``QActivation`` is ``sign(where(abs(x) <= t, x, BlockGrad(x)))``.
"""
from mxnet import symbol
from mxnet.base import numeric_types
from mxnet.gluon import HybridBlock
from mxnet.gluon import nn as gnn
from mxnet.gluon.nn.conv_layers import _Conv

from ..nn import _DeferredInputShape, add_offset, dense_weight_shape
from . import ops
from .config import binary_layer_config

__all__ = ["QActivation", "QDense", "QConv1D", "QConv2D", "QConv3D", "BinaryConvolution",
           "ScaledWeightsBinaryConv", "ScaledBinaryConv", "activated_conv"]


def _check_params(layer, use_bias, activation):
    if use_bias:
        raise ValueError(f"{layer}: use_bias=True is not supported for a binary layer (as in "
                         "BMXNet v2); add a BatchNorm or a bias after it")
    if activation is not None:
        raise ValueError(f"{layer}: activation={activation!r} is not supported for a binary "
                         "layer (as in BMXNet v2); add the activation after it")


class QActivation(HybridBlock):
    """Gradient cancelling (``|x| > gradient_cancel_threshold``) then quantization.

    bits (default ``binary_layer_config.bits_a``) and method (default
    ``binary_layer_config.activation``) choose the quantization; see ``.config``.
    """

    def __init__(self, *args, bits=None, gradient_cancel_threshold=None, method=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.bits = bits or binary_layer_config.bits_a
        self.method = method or binary_layer_config.activation
        self.quantize = binary_layer_config.get_activation_function(bits=bits, method=method)
        self.threshold = gradient_cancel_threshold or binary_layer_config.grad_cancel

    def hybrid_forward(self, F, x):
        return self.quantize(F, ops._gradcancel(F, x, self.threshold))

    def __repr__(self):
        return (f"{self.__class__.__name__}(bits={self.bits}, method={self.method!r}, "
                f"gradient_cancel_threshold={self.threshold})")


class QDense(_DeferredInputShape, gnn.Dense):
    """Dense layer with quantized weights (default ``binary_layer_config.bits``), offset output
    unless ``no_offset``."""

    def __init__(self, *args, bits=None, activation=None, use_bias=False, no_offset=False,
                 **kwargs):
        _check_params("QDense", use_bias, activation)
        super().__init__(*args, activation=None, use_bias=False, **kwargs)
        self.bits = bits or binary_layer_config.bits
        self.quantize = binary_layer_config.get_weight_quantization_function(bits=bits)
        self.method = binary_layer_config.activation
        self.weight.wd_mult = 0.0
        self.no_offset = no_offset

    def _set_input_shape(self, shape):
        self.weight.shape = dense_weight_shape(self._units, self._flatten, shape)

    def hybrid_forward(self, F, x, weight, bias=None):
        self._record_input(F, x)
        h = F.FullyConnected(x, self.quantize(F, weight), no_bias=True,
                             num_hidden=self._units, flatten=self._flatten, name="fwd")
        if self.no_offset:
            return h
        return add_offset(F, h, self.weight, weight)


class _QConv(_DeferredInputShape, _Conv):
    """Convolution with quantized weights and -1 pre-padding (shared by QConv1D/2D/3D)."""

    def __init__(self, channels, kernel_size, bits, strides, padding, dilation, groups, layout,
                 in_channels, activation, use_bias, weight_initializer, bias_initializer,
                 quantization=None, no_offset=False, apply_scaling=False, **kwargs):
        name = self.__class__.__name__
        _check_params(name, use_bias, activation)
        if layout != "NC" + "DHW"[3 - len(kernel_size):]:
            raise ValueError(f"{name}: only layout='NC{'DHW'[3 - len(kernel_size):]}' is "
                             f"supported, got {layout!r}")
        super().__init__(channels, kernel_size, strides, 0, dilation, groups, layout,
                         in_channels, None, False, weight_initializer, bias_initializer,
                         **kwargs)
        self.no_offset = no_offset
        if isinstance(padding, numeric_types):
            padding = (padding,) * len(kernel_size)
        if len(padding) != len(kernel_size) or any(p < 0 for p in padding):
            raise ValueError(f"{name}: padding must be {len(kernel_size)} non-negative "
                             f"integers, got {padding!r}")
        self._pre_padding = tuple(int(p) for p in padding)
        self.weight.wd_mult = 0.0
        self.scaling = apply_scaling
        self.stop_weight_scale_grad = binary_layer_config.approximation == "xnor"
        self._scaling_transpose = (1, 0) + tuple(range(2, len(kernel_size) + 2))
        self.bits = bits or binary_layer_config.bits
        self.quantize = binary_layer_config.get_weight_quantization_function(
            bits=self.bits, method=quantization)

    def _alias(self):
        return "qconv"

    def _set_input_shape(self, shape):
        groups = self._kwargs["num_group"]
        self.weight.shape = (self._channels, shape[1] // groups) + tuple(self._kwargs["kernel"])

    def _apply_pre_padding(self, F, x):
        """x padded with -1 on every spatial axis (Pad takes 4-D and 5-D tensors only)."""
        pad = self._pre_padding
        if not any(pad):
            return x
        if len(pad) == 1:
            x = F.pad(F.expand_dims(x, axis=2), mode="constant", constant_value=-1,
                      pad_width=(0, 0, 0, 0, 0, 0, pad[0], pad[0]))
            return F.reshape(x, shape=(0, 0, -1))
        width = (0, 0, 0, 0) + tuple(v for p in pad for v in (p, p))
        return F.pad(x, mode="constant", pad_width=width, constant_value=-1)

    def hybrid_forward(self, F, x, weight, bias=None):
        self._record_input(F, x)
        h = F.Convolution(self._apply_pre_padding(F, x), self.quantize(F, weight), name="fwd",
                          **self._kwargs)
        if self.scaling:
            scale = F.transpose(F.mean(F.abs(weight), axis=0, exclude=True, keepdims=True),
                                axes=self._scaling_transpose)
            if self.stop_weight_scale_grad:
                scale = F.stop_gradient(scale)
            h = F.broadcast_mul(h, scale)
        if self.bits == 1 and not self.no_offset and not self.scaling:
            h = add_offset(F, h, self.weight, weight)
        return h

    def __repr__(self):
        s = super().__repr__()
        extra = f", bits={self.bits}"
        if any(self._pre_padding):
            extra += f", padding={self._pre_padding} (-1)"
        if self.scaling:
            extra += ", apply_scaling=True"
        if self.no_offset:
            extra += ", no_offset=True"
        return s[:-1] + extra + ")" if s.endswith(")") else s


def _tuple(value, n):
    return (value,) * n if isinstance(value, numeric_types) else tuple(value)


class QConv1D(_QConv):
    """1-D convolution with quantized weights (layout NCW); see the module docstring."""

    def __init__(self, channels, kernel_size, bits=None, strides=1, padding=0, dilation=1,
                 groups=1, layout="NCW", activation=None, use_bias=False,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _tuple(kernel_size, 1)
        if len(kernel_size) != 1:
            raise ValueError(f"QConv1D: kernel_size must be a number or 1 int, got {kernel_size}")
        super().__init__(channels, kernel_size, bits, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class QConv2D(_QConv):
    """2-D convolution with quantized weights (layout NCHW); see the module docstring."""

    def __init__(self, channels, kernel_size, bits=None, strides=(1, 1), padding=(0, 0),
                 dilation=(1, 1), groups=1, layout="NCHW", activation=None, use_bias=False,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0,
                 apply_scaling=False, **kwargs):
        kernel_size = _tuple(kernel_size, 2)
        if len(kernel_size) != 2:
            raise ValueError(f"QConv2D: kernel_size must be a number or 2 ints, got "
                             f"{kernel_size}")
        super().__init__(channels, kernel_size, bits, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, apply_scaling=apply_scaling, **kwargs)


class QConv3D(_QConv):
    """3-D convolution with quantized weights (layout NCDHW); see the module docstring."""

    def __init__(self, channels, kernel_size, bits=None, strides=(1, 1, 1), padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None, use_bias=False,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        kernel_size = _tuple(kernel_size, 3)
        if len(kernel_size) != 3:
            raise ValueError(f"QConv3D: kernel_size must be a number or 3 ints, got "
                             f"{kernel_size}")
        super().__init__(channels, kernel_size, bits, strides, padding, dilation, groups, layout,
                         in_channels, activation, use_bias, weight_initializer,
                         bias_initializer, **kwargs)


class _ActivatedConv(HybridBlock):
    """QActivation followed by QConv2D (``qact``, ``qconv``: v2's child names)."""

    _apply_scaling = False
    _no_offset = False

    def __init__(self, channels, kernel_size=3, stride=1, padding=0, in_channels=0, dilation=1,
                 bits=None, bits_a=None, clip_threshold=None, activation_method=None,
                 prefix=None, **kwargs):
        super().__init__(**kwargs)
        # As in v2, the children are named outside this block's scope, and `prefix` names
        # the convolution (its parameters), not this block.
        self.qact = QActivation(bits=bits_a, gradient_cancel_threshold=clip_threshold,
                                method=activation_method)
        self.qconv = QConv2D(channels, bits=bits, kernel_size=kernel_size, strides=stride,
                             padding=padding, in_channels=in_channels, prefix=prefix,
                             apply_scaling=self._apply_scaling, no_offset=self._no_offset,
                             dilation=dilation)

    def hybrid_forward(self, F, x):
        return self.qconv(self.qact(x))


class BinaryConvolution(_ActivatedConv):
    """Binary (XNOR) convolution block: QActivation then QConv2D with offset output."""


class ScaledWeightsBinaryConv(_ActivatedConv):
    """Bi-Real Net's magnitude-aware weights: QConv2D scaled by mean(|W[o]|), gradient not
    stopped unless built under ``approximation="xnor"`` (no offset)."""

    _apply_scaling = True


class ScaledBinaryConv(_ActivatedConv):
    """XNOR-Net's scaled binary convolution: weights scaled by mean(|W[o]|) and the output by
    ``K = conv(mean(|x|, axis=1), 1 / k^2)`` over each window (gradient of K stopped).
    kernel_size, stride and padding are single integers here, as in v2."""

    _apply_scaling = True
    _no_offset = True

    def __init__(self, channels, kernel_size=3, stride=1, padding=0, in_channels=0, dilation=1,
                 bits=None, bits_a=None, clip_threshold=None, activation_method=None,
                 prefix=None, **kwargs):
        for key, value in (("kernel_size", kernel_size), ("stride", stride),
                           ("padding", padding)):
            if not isinstance(value, int):
                raise ValueError(f"ScaledBinaryConv: {key} must be one integer, got {value!r}")
        super().__init__(channels, kernel_size, stride, padding, in_channels, dilation, bits,
                         bits_a, clip_threshold, activation_method, prefix, **kwargs)
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.in_channels = in_channels

    def hybrid_forward(self, F, x):
        y = self.qconv(self.qact(x))
        k = self.kernel_size
        A = F.mean(F.abs(x), axis=1, keepdims=True)
        kernel = F.full((1, 1, k, k), 1.0 / k ** 2)
        K = F.Convolution(A, kernel, name="scaling_conv", num_filter=1, kernel=(k, k),
                          no_bias=True, stride=(self.stride,) * 2, pad=(self.padding,) * 2,
                          layout="NCHW")
        return F.broadcast_mul(F.stop_gradient(K), y)


class ActivatedConvolutionFactory:
    """``activated_conv(...)``: the convolution block of ``binary_layer_config.approximation``:
    BinaryConvolution (""), ScaledWeightsBinaryConv ("binet") or ScaledBinaryConv ("xnor")."""

    def __call__(self, *args, **kwargs):
        approximation = binary_layer_config.approximation
        if approximation == "binet":
            return ScaledWeightsBinaryConv(*args, **kwargs)
        if approximation == "xnor":
            return ScaledBinaryConv(*args, **kwargs)
        return BinaryConvolution(*args, **kwargs)


activated_conv = ActivatedConvolutionFactory()
