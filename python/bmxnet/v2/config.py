"""``binary_layer_config``: BMXNet v2's defaults for the binary layers built while it is set.

``set_binary_layer_config(**values)`` is a context manager that changes the defaults for the
layers constructed inside it and restores them on exit::

    with set_binary_layer_config(bits_a=2, activation="round", grad_cancel=0.5):
        act = QActivation()          # 2-bit, round, gradient cancelled where |x| > 0.5

Fields (BMXNet v2's names and defaults): ``grad_cancel`` (1.0), ``bits`` (weights, 1),
``bits_a`` (activations, 1), ``activation`` ("det_sign"), ``weight_quantization``
("det_sign"), ``approximation`` ("", "binet" or "xnor": what ``activated_conv`` builds).
A method that does not fit the bit width is replaced by that width's default, as in v2.

Quantization methods, ``q(F, x)`` (which width accepts which is in ``_ACTIVATIONS`` and
``_WEIGHT_QUANTIZATIONS``):

- ``det_sign``: sign, straight-through gradient; ``sign_approx_sign``: sign with ApproxSign's
  gradient (``bmxnet.v2.ops``);
- ``round``: ``round_ste(clip(x, 0, 1) * n) / n``, ``n = 2**bits - 1`` (DoReFa activations);
- ``dorefa``: DoReFa weights ``2 q(tanh(x) / (2 max|tanh(x)|) + 1/2) - 1`` (also when chosen
  for activations, as in v2);
- 32 bits: ``identity``, ``relu``, ``clip`` (to [-1, 1]), ``leaky_clip`` (slope 0.1 outside
  [-1, 1]), ``approx_sign`` (the float polynomial ``2x + x|x|`` / ``2x - x^2`` clipped to +-1).
"""
from .. import quantizers
from . import ops

__all__ = ["BinaryLayerConfig", "binary_layer_config", "set_binary_layer_config"]

_ACTIVATIONS = {1: ("det_sign", "sign_approx_sign", "round"),
                32: ("identity", "approx_sign", "relu", "clip", "leaky_clip")}
_KBIT_ACTIVATIONS = ("round", "dorefa")
_WEIGHT_QUANTIZATIONS = {1: ("det_sign", "sign_approx_sign"), 32: ("identity",)}
_KBIT_WEIGHT_QUANTIZATIONS = ("dorefa",)
_APPROXIMATIONS = ("", "binet", "xnor")


def _valid_activation(bits, method):
    return method in _ACTIVATIONS.get(bits, _KBIT_ACTIVATIONS)


def _default_activation(bits):
    return {1: "det_sign", 32: "relu"}.get(bits, "round")


def _valid_weight_quantization(bits, method):
    return method in _WEIGHT_QUANTIZATIONS.get(bits, _KBIT_WEIGHT_QUANTIZATIONS)


def _default_weight_quantization(bits):
    return {1: "det_sign", 32: "identity"}.get(bits, "dorefa")


def _check_bits(what, bits):
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 32:
        raise ValueError(f"{what} must be an integer in 1..32, got {bits!r}")


def quantization_function(bits, method):
    """The function ``q(F, x)`` of quantization `method` at `bits` bits."""
    _check_bits("bits", bits)
    levels = float(2 ** bits - 1)

    def round_(F, x):
        return F.contrib.round_ste(F.clip(x, 0.0, 1.0) * levels) / levels

    def dorefa(F, x):
        if bits == 1:
            raise ValueError("dorefa needs 2..32 bits; use det_sign for 1 bit")
        return quantizers.dorefa(F, x, bits=min(bits, 31), mode="weights")

    def leaky_clip(F, x, slope=0.1):
        return F.where(x < -1, slope * x, F.where(x <= 1, x, slope * x))

    def approx_sign(F, x):
        return F.where(x <= -1, -F.ones_like(x),
                       F.where(x < 0, 2 * x + x * x,
                               F.where(x < 1, 2 * x - x * x, F.ones_like(x))))

    functions = {
        "identity": lambda F, x: x,
        "round": round_,
        "dorefa": dorefa,
        "clip": lambda F, x: F.clip(x, -1.0, 1.0),
        "relu": lambda F, x: F.relu(x),
        "leaky_clip": leaky_clip,
        "approx_sign": approx_sign,
        "sign_approx_sign": ops._approx_sign,
        "det_sign": ops._det_sign,
    }
    try:
        return functions[method]
    except KeyError:
        raise ValueError(f"unknown quantization method {method!r}; choose one of "
                         f"{sorted(functions)}") from None


class BinaryLayerConfig:
    """The defaults of BMXNet v2's binary layers (see the module docstring)."""

    def __init__(self, grad_cancel=1.0, bits=1, bits_a=1, activation="det_sign",
                 weight_quantization="det_sign", approximation=""):
        self.grad_cancel = grad_cancel
        self.bits = bits
        self.bits_a = bits_a
        self.activation = activation
        self.weight_quantization = weight_quantization
        if approximation not in _APPROXIMATIONS:
            raise ValueError(f"approximation must be one of {_APPROXIMATIONS}, "
                             f"got {approximation!r}")
        self.approximation = approximation

    def get_values(self):
        return dict(vars(self))

    def set_values(self, assure_consistency=True, **values):
        """Sets the given fields (None keeps a field); with `assure_consistency`, a method
        that does not fit its bit width becomes that width's default."""
        unknown = sorted(set(values) - set(vars(self)))
        if unknown:
            raise ValueError(f"unknown binary layer config field(s) {unknown}; the fields are "
                             f"{sorted(vars(self))}")
        values = {k: v for k, v in values.items() if v is not None}
        if "bits" in values:
            _check_bits("bits", values["bits"])
        if "bits_a" in values:
            _check_bits("bits_a", values["bits_a"])
        if values.get("approximation", "") not in _APPROXIMATIONS:
            raise ValueError(f"approximation must be one of {_APPROXIMATIONS}, "
                             f"got {values['approximation']!r}")
        for name, value in values.items():
            setattr(self, name, value)
        if assure_consistency:
            if not _valid_activation(self.bits_a, self.activation):
                self.activation = _default_activation(self.bits_a)
            if not _valid_weight_quantization(self.bits, self.weight_quantization):
                self.weight_quantization = _default_weight_quantization(self.bits)

    def get_quantization_function(self, bits=None, method=None):
        return quantization_function(bits, method)

    def get_activation_function(self, bits=None, method=None):
        bits = bits or self.bits_a
        method = method or self.activation
        _check_bits("bits", bits)
        if not _valid_activation(bits, method):
            raise ValueError(f"activation method {method!r} does not work with {bits} bit(s); "
                             f"choose one of {_ACTIVATIONS.get(bits, _KBIT_ACTIVATIONS)}")
        return quantization_function(bits, method)

    def get_weight_quantization_function(self, bits=None, method=None):
        bits = bits or self.bits
        method = method or self.weight_quantization
        _check_bits("bits", bits)
        if not _valid_weight_quantization(bits, method):
            raise ValueError(f"weight quantization {method!r} does not work with {bits} "
                             f"bit(s); choose one of "
                             f"{_WEIGHT_QUANTIZATIONS.get(bits, _KBIT_WEIGHT_QUANTIZATIONS)}")
        return quantization_function(bits, method)

    def __repr__(self):
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"BinaryLayerConfig({fields})"


binary_layer_config = BinaryLayerConfig()


class set_binary_layer_config:  # noqa: N801  (BMXNet v2's name)
    """Context manager: `values` are the defaults of the binary layers built inside it."""

    def __init__(self, **values):
        self.values = values

    def __enter__(self):
        self.last_values = binary_layer_config.get_values()
        binary_layer_config.set_values(**self.values)
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        binary_layer_config.set_values(assure_consistency=False, **self.last_values)
