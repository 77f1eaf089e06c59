"""The converter's replacing pass (bmxnet.converter.passes.replace) on hand-written graphs: each
binary layer, to the last node folded into it, becomes one bmx_binary_* op."""
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.replace import replace_layers


def test_the_layer_and_its_batchnorm_become_one_op():
    s = Sym()
    y = s.conv(s.data(), "q", 8, 4, pad=(1, 1))
    y = s.batchnorm(y, "bn", 8)
    c = run_through(conversion(s, [y]), replace_layers)
    (layer,) = c.layers
    op, _ = c.redirect[(layer.end, 0)]
    assert op is layer.op and op.op == "bmx_binary_conv2d" and op.name == "q_fwd"
    assert [n.name for n, _, _ in op.inputs] == ["data", "q_weight", "q_fwd_scale", "q_fwd_bias"]
    assert (op.attrs["use_scale"], op.attrs["no_bias"], op.attrs["pad_value"]) == \
        ("True", "False", "0")
    assert "add_residual" not in op.attrs


def test_an_unchanged_bias_keeps_its_variable_and_float_layers_stay():
    s = Sym()
    y = s.dense(s.data(), "d", 10, 16)
    y = s.dense(y, "f", 4, 10, binary=False)
    c = run_through(conversion(s, [y]), replace_layers)
    (layer,) = c.layers
    assert [n.name for n, _, _ in layer.op.inputs] == ["data", "d_weight", "d_bias"]
    assert layer.op.attrs["use_scale"] == "False"
    assert list(c.redirect) == [(layer.node, 0)]  # the float dense is not touched
