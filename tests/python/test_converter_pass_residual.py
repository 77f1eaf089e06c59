"""The converter's residual pass (bmxnet.converter.passes.residual) on hand-written graphs: an
elementwise add that alone follows a binary 2-D convolution becomes its residual input."""
from converter_graphs import Sym, conversion, run_through

from bmxnet.converter.passes.residual import fuse_residual


def test_shortcut_add_becomes_the_residual_input():
    s = Sym()
    x = s.data()
    y = s.conv(x, "q", 4, 4, pad=(1, 1))
    y = s.op("elemwise_add", "add", [y, x])
    (layer,) = run_through(conversion(s, [y]), fuse_residual).layers
    assert layer.end.name == "add" and layer.residual[0].name == "data"
    assert layer.notes == ["add (residual add) fused"]


def test_an_add_of_two_binary_convs_is_fused_into_the_first_only():
    s = Sym()
    x = s.data()
    a = s.conv(x, "a", 4, 4, pad=(1, 1))
    b = s.conv(x, "b", 4, 4, pad=(1, 1))
    y = s.op("elemwise_add", "add", [a, b])
    first, second = run_through(conversion(s, [y]), fuse_residual).layers
    assert first.residual[0] is second.node and first.end.name == "add"
    assert second.residual is None and second.end is second.node


def test_dense_layers_and_broadcast_adds_are_left_alone():
    s = Sym()
    x = s.data()
    d = s.dense(x, "d", 16, 16)
    y = s.op("elemwise_add", "add", [d, x])
    q = s.conv(y, "q", 4, 4)
    z = s.op("broadcast_add", "badd", [q, s.param("c", s.rng.randn(1).astype("float32"))])
    for layer in run_through(conversion(s, [z]), fuse_residual).layers:
        assert layer.residual is None and layer.end is layer.node
