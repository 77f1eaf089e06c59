"""Which ops a training graph needs, and which of them stock MXNet cannot run on a GPU.

bmxnet's layers must train on a GPU with the stock CUDA wheel (``mxnet-cu112==1.9.1``), so every
op of their training graphs, forward and backward, needs a GPU kernel in MXNet itself. The ops
that have one are listed in ``mxnet-1.9.1-gpu-ops.txt`` next to this module, read from MXNet
1.9.1's C++ sources by ``tools/gpu_ops/extract_mxnet_gpu_ops.py`` (its first line is the
command that made it). This needs no GPU::

    from bmxnet import gpu_ops
    ops = gpu_ops.training_graph_ops(net, (2, 3, 32, 32))
    gpu_ops.missing_gpu_ops(ops)      # [] when the whole training graph runs on a GPU
"""
import contextlib
import functools
import os
import re

import mxnet as mx

__all__ = ["GPU_OPS_FILE", "gpu_ops", "training_graph_ops", "missing_gpu_ops"]

GPU_OPS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "mxnet-1.9.1-gpu-ops.txt")

# One node of Executor.debug_str(): "Op:Convolution, Name=conv0" (variables are
# "Variable:name" lines, which are not ops).
_OP_LINE = re.compile(r"^Op:([^,\s]+), Name=", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def gpu_ops():
    """(frozenset of the op names with a GPU implementation in stock MXNet 1.9.1,
    {alias: op name} for their other names), read from GPU_OPS_FILE."""
    ops, aliases = set(), {}
    with open(GPU_OPS_FILE) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "->" in line:
                alias, name = (s.strip() for s in line.split("->"))
                aliases[alias] = name
            else:
                ops.add(line)
    return frozenset(ops), aliases


def missing_gpu_ops(ops):
    """The names in `ops` (canonical op names or their aliases) that have no GPU
    implementation in stock MXNet 1.9.1, sorted; [] when all have one."""
    known, aliases = gpu_ops()
    return sorted(op for op in set(ops) if aliases.get(op, op) not in known)


def training_graph_ops(net, input_shape, input_name="data"):
    """The op names of `net`'s training graph, forward and backward, as a set.

    net: a Gluon Block (initialized here where it is not yet) or a Symbol whose input is
    `input_name`. input_shape: the input's shape, batch axis included.

    The graph is `net`'s output summed into a ``make_loss``, bound on the CPU with a gradient
    for every argument (the input too), so the executor's graph holds the backward nodes
    (``_backward_Convolution``, ...) that training on a GPU would run. For a Block, two traces
    count: the one before the weight shapes are known (a hybridized block's first call builds
    its cached graph from it, so it is what hybridized training runs) and the one after a
    first batch has completed them.
    """
    if isinstance(net, mx.sym.Symbol):
        return _symbol_ops(net, {input_name: tuple(input_shape)})
    if not isinstance(net, mx.gluon.Block):
        raise TypeError(f"net must be a Gluon Block or a Symbol, got {type(net).__name__}")
    params = net.collect_params()
    if any(p._data is None and not p._deferred_init for p in params.values()):
        net.initialize()
    data = mx.sym.var(input_name)
    first_trace = net(data)
    net(mx.nd.zeros(input_shape))  # a first batch completes deferred shapes
    shapes = {p.name: p.shape for p in params.values()}
    shapes[input_name] = tuple(input_shape)
    return _symbol_ops(first_trace, shapes) | _symbol_ops(net(data), shapes)


def _symbol_ops(out, shapes):
    outputs = list(out) if len(out.list_outputs()) > 1 else [out]
    loss = mx.sym.Group([mx.sym.make_loss(mx.sym.sum(o)) for o in outputs])
    arguments = set(loss.list_arguments())
    given = {k: v for k, v in shapes.items() if k in arguments}
    with _no_subgraph_backend():
        executor = loss.simple_bind(ctx=mx.cpu(), grad_req="write", **given)
    ops = set(_OP_LINE.findall(executor.debug_str()))
    fused = sorted(op for op in ops if op.startswith("_sg_"))
    if fused:
        raise RuntimeError(f"the executor fused CPU subgraphs ({fused}); its graph is not the "
                           "one a GPU runs")
    return ops


@contextlib.contextmanager
def _no_subgraph_backend():
    """Binds without MXNet's CPU subgraph fusion (MKLDNN), which would replace ops by CPU-only
    fused ones; the executor reads MXNET_SUBGRAPH_BACKEND when it is created."""
    before = os.environ.get("MXNET_SUBGRAPH_BACKEND")
    os.environ["MXNET_SUBGRAPH_BACKEND"] = "NONE"
    try:
        yield
    finally:
        if before is None:
            del os.environ["MXNET_SUBGRAPH_BACKEND"]
        else:
            os.environ["MXNET_SUBGRAPH_BACKEND"] = before
