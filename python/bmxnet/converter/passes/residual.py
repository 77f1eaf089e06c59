"""Pass: fuse a residual add into a binary 2-D convolution. An elementwise add that is the only
consumer of the layer's output (after what is folded into it: a ResNet shortcut) becomes the
op's ``residual`` input, which ``bmx_binary_conv2d(add_residual=True)`` adds in its epilogue.
An add is fused into one layer only: the first, in graph order, of its two operands."""

from ..conversion import Conversion

# Elementwise adds of two same-shaped tensors (Gluon's `a + b` exports elemwise_add).
ELEMWISE_ADD_OPS = frozenset(("elemwise_add", "_plus", "_Plus", "_add"))


def fuse_residual(c: Conversion):
    fused = set()
    for layer in c.layers:
        if layer.match.kind != "conv" or layer.match.conv1d:
            continue
        add, slot = c.sole_consumer(layer.end)
        if add is None or add.op not in ELEMWISE_ADD_OPS or len(add.inputs) != 2 or add in fused:
            continue
        other = add.inputs[1 - slot]
        layer.residual = (other[0], other[1])
        layer.notes.append(f"{add.name} (residual add) fused")
        layer.end = add
        fused.add(add)
