"""The converter's 1-D pass (bmxnet.converter.passes.conv1d) on hand-written graphs: a binary
1-D convolution runs as a (1, k) 2-D one between expand_dims and Reshape."""
from converter_graphs import Sym, conversion, run_before, run_through

from bmxnet.converter.passes.conv1d import wrap_conv1d


def _conv1d():
    s = Sym()
    x = s.sign(s.data(), "q_data_sign")
    w = s.sign(s.weight("q_weight", (8, 4, 3)), "q_weight_sign")
    return s, s.op("Convolution", "q_fwd", [x, w], kernel="(3,)", num_filter=8, no_bias=True,
                   layout="NCW")


def test_a_1d_layer_is_wrapped():
    s, y = _conv1d()
    c = run_before(conversion(s, [y]), wrap_conv1d)
    (layer,) = c.layers
    assert c.redirect[(layer.end, 0)][0] is layer.op  # not yet wrapped
    wrap_conv1d(c)
    reshape, _ = c.redirect[(layer.end, 0)]
    assert (reshape.op, reshape.attrs["shape"]) == ("Reshape", "(0, 0, -1)")
    assert reshape.inputs[0][0] is layer.op and layer.op.attrs["kernel"] == "(1, 3)"
    expand = layer.op.inputs[0][0]
    assert (expand.op, expand.attrs["axis"], expand.inputs[0][0].name) == \
        ("expand_dims", "2", "data")


def test_a_2d_layer_is_left_alone():
    s = Sym()
    y = s.conv(s.data(), "q", 8, 4)
    c = run_through(conversion(s, [y]), wrap_conv1d)
    (layer,) = c.layers
    assert c.redirect[(layer.end, 0)][0] is layer.op
    assert layer.op.inputs[0][0].name == "data"
