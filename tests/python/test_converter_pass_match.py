"""The converter's match pass (bmxnet.converter.passes.match) on hand-written graphs: which
Convolution/FullyConnected is a binary layer, and why the others stay float."""
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.match import match_layers


def _index(s, name):
    return next(i for i, n in enumerate(s.nodes) if n["name"] == name)


def test_a_layer_with_signed_data_and_weight_is_binary():
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 40, 8, pad=(1, 1))
    c = run_through(conversion(s, [y]), match_layers)
    (layer,) = c.layers
    m = layer.match
    assert (m.kind, m.node.name, m.out_channels, m.pad_value) == ("conv", "q_fwd", 40, 0)
    assert m.data_in[0].name == "data"  # the sign's input: the op binarizes itself
    assert m.weight_var.name == "q_weight" and m.bias_var.name == "q_bias"
    assert m.attrs["kernel"] == "(3, 3)" and m.attrs["pad"] == "(1, 1)"
    assert layer.end is m.node and layer.scale is None
    assert not c.float_layers


def test_a_layer_with_float_data_stays_float_with_the_reason():
    s = Sym()
    x = s.data()
    y = s.conv(x, "half", 8, 3, sign_data=False)
    y = s.dense(y, "f", 10, 8, binary=False)
    c = run_through(conversion(s, [y]), match_layers)
    assert not c.layers
    assert [(node.name, layer.reason) for node, layer in c.float_layers] == [
        ("half_fwd", "activations are not binarized (only the weights are)"),
        ("f_fwd", "float layer (neither weights nor activations are binarized)")]


def test_a_padded_layer_takes_the_pad_node_as_its_pad_value():
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 8, 8, pad_node=(-1, (0, 0, 0, 0, 1, 1, 1, 1)))
    c = run_through(conversion(s, [y]), match_layers)
    (layer,) = c.layers
    assert layer.match.pad_value == -1 and layer.match.attrs["pad"] == "(1, 1)"
    assert layer.match.data_in[0] is c.graph.nodes[_index(s, "data")]
