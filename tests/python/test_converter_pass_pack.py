"""The converter's packing pass (bmxnet.converter.passes.pack) on hand-written graphs: one int32
variable per binary weight, shared weights packed once."""
import numpy as np
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter import pack_conv_weight, pack_dense_weight
from bmxnet.converter.passes.pack import pack_weights


def test_weights_are_packed_and_a_shared_weight_once():
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 40, 40, bias=False)
    w = next((i, 0) for i, n in enumerate(s.nodes) if n["name"] == "q_weight")
    # a second layer binarizing the same weight variable through its own sign node
    y = s.op("Convolution", "q2_fwd", [s.sign(y, "q2_data_sign"), s.sign(w, "q2_weight_sign")],
             kernel="(3, 3)", num_filter=40, no_bias=True)
    y = s.dense(y, "d", 10, 40)
    c = run_through(conversion(s, [y]), pack_weights)
    first, second, dense = c.layers
    assert first.packed_var is second.packed_var
    np.testing.assert_array_equal(c.new_arrays[first.packed_var],
                                  pack_conv_weight(c.params.get("q_weight")))
    np.testing.assert_array_equal(c.new_arrays[dense.packed_var],
                                  pack_dense_weight(c.params.get("d_weight")))
    assert c.new_arrays[first.packed_var].dtype == np.int32
    assert first.packed_var.attrs["__dtype__"] == "4"


def test_float_layers_get_no_packed_weight():
    s = Sym()
    y = s.conv(s.data(), "f", 8, 3, binary=False)
    c = run_through(conversion(s, [y]), pack_weights)
    assert not c.layers and not c.new_arrays
