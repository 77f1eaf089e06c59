"""The converter's BatchNorm pass for float layers (bmxnet.converter.passes.float_batchnorm) on
hand-written graphs: W * k and (b - mean) * k + beta."""
import numpy as np
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.float_batchnorm import fold_float_batchnorm


def test_batchnorm_after_a_float_conv_folds_into_its_weights():
    s = Sym()
    x = s.conv(s.data(), "f", 8, 3, binary=False)
    y = s.batchnorm(x, "bn", 8)
    c = run_through(conversion(s, [y]), fold_float_batchnorm)
    ((node, layer),) = c.float_layers
    assert layer.folded_batchnorm == "bn_fwd"
    bn = next(n for n in c.graph.nodes if n.name == "bn_fwd")
    new, _ = c.redirect[(bn, 0)]
    assert new.op == "Convolution" and new.attrs["no_bias"] == "False"
    p = {k[4:]: v.astype(np.float64) for k, v in s.params.items()}
    k = p["bn_gamma"] / np.sqrt(p["bn_running_var"] + 1e-5)
    weight = c.new_arrays[new.inputs[1][0]]
    np.testing.assert_array_equal(weight, (p["f_weight"] * k[:, None, None, None])
                                  .astype(np.float32))


def test_a_float_conv_read_by_another_node_too_keeps_its_batchnorm():
    s = Sym()
    x = s.conv(s.data(), "f", 8, 3, binary=False)
    y = s.batchnorm(x, "bn", 8)
    c = run_through(conversion(s, [y, x]), fold_float_batchnorm)
    ((_, layer),) = c.float_layers
    assert layer.folded_batchnorm is None and not c.redirect
