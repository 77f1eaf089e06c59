"""The converter's offset pass (bmxnet.converter.passes.offset) on hand-written graphs:
BMXNet v2's (h + K) / 2 after a binary layer folds into its scale and bias."""
import numpy as np
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.offset import fold_offset


def _offset_layer(divisor=2):
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 8, 4, bias=False)
    y = s.op("_plus_scalar", "q_plus", [y], scalar=36)
    return s, s.op("_div_scalar", "q_div", [y], scalar=divisor)


def test_plus_then_halve_folds_into_scale_and_bias():
    s, y = _offset_layer()
    (layer,) = run_through(conversion(s, [y]), fold_offset).layers
    np.testing.assert_array_equal(layer.scale, np.full(8, 0.5))
    np.testing.assert_array_equal(layer.bias, np.full(8, 18.0))
    assert layer.end.name == "q_div" and layer.notes == ["offset (h + 36) / 2 folded"]


def test_a_divisor_that_is_no_power_of_two_stays_a_float_op():
    s, y = _offset_layer(divisor=3)
    (layer,) = run_through(conversion(s, [y]), fold_offset).layers
    assert layer.end.name == "q_plus"  # (h + 36) / 1 folds exactly, the division stays
    np.testing.assert_array_equal(layer.scale, np.ones(8))


def test_an_offset_that_is_not_the_only_consumer_stays():
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 8, 4, bias=False)
    p = s.op("_plus_scalar", "q_plus", [y], scalar=36)
    (layer,) = run_through(conversion(s, [p, y]), fold_offset).layers  # y is an output too
    assert layer.end is layer.node and layer.scale is None
