"""Per-layer model summary, like ``larq.models.summary``: output shape, parameters split into
binary and float, their memory (binary packed into 32-bit words, float as float32), binary and
float multiply-accumulates, and totals with the compression ratio.

Works on a Gluon network (``summary(net, input_shape)``), on an exported training graph and on
a model converted by model-converter (``summary("prefix")`` or ``bmxnet summary PREFIX``): it
reads the graph, so the same rules apply to all three. A Convolution / FullyConnected is
binary when both its data and its weight come from a straight-through sign (those of
``bmxnet.ste_sign``, or the op library's ``bmx_det_sign`` / ``bmx_approx_sign`` of earlier exports;
its weight parameter is then counted as 1 bit per value, as it will be packed), or when it is a converted ``bmx_binary_conv2d`` / ``bmx_binary_dense``. MACs are per
input image (batch 1).
"""
import contextlib
import io
import json
import os
import re

import numpy as np

from .ste_sign import find_sign

__all__ = ["summary", "Summary", "LayerInfo"]

_LAYER_OPS = ("Convolution", "FullyConnected", "bmx_binary_conv2d", "bmx_binary_dense",
              "BatchNorm", "Deconvolution", "Embedding", "LayerNorm", "InstanceNorm",
              "GroupNorm", "LeakyReLU")


class LayerInfo:
    """One row of the summary."""

    def __init__(self, name, kind, output_shape, binary_params=0, float_params=0,
                 binary_bytes=0, float_bytes=0, binary_macs=0, float_macs=0):
        self.name, self.kind, self.output_shape = name, kind, output_shape
        self.binary_params, self.float_params = binary_params, float_params
        self.binary_bytes, self.float_bytes = binary_bytes, float_bytes
        self.binary_macs, self.float_macs = binary_macs, float_macs

    @property
    def memory(self):
        return self.binary_bytes + self.float_bytes


class Summary:
    """Rows (LayerInfo) and totals; ``str()`` is the table."""

    def __init__(self, title, input_shape, rows, assumed_input=False):
        self.title, self.input_shape, self.rows = title, tuple(input_shape), rows
        self.assumed_input = assumed_input

    def total(self, field):
        return sum(getattr(r, field) for r in self.rows)

    @property
    def binary_params(self):
        return self.total("binary_params")

    @property
    def float_params(self):
        return self.total("float_params")

    @property
    def memory(self):
        """Bytes of the deployed parameters (binary packed, float as float32)."""
        return self.total("binary_bytes") + self.total("float_bytes")

    @property
    def float32_memory(self):
        """Bytes of the same parameters all stored as float32 (the trained model)."""
        return 4 * (self.binary_params + self.float_params)

    @property
    def compression(self):
        return self.float32_memory / max(self.memory, 1)

    def to_dict(self):
        return {"title": self.title, "input_shape": list(self.input_shape),
                "layers": [dict(vars(r), output_shape=list(r.output_shape)) for r in self.rows],
                "binary_params": self.binary_params, "float_params": self.float_params,
                "memory_bytes": self.memory, "float32_memory_bytes": self.float32_memory,
                "compression": self.compression, "binary_macs": self.total("binary_macs"),
                "float_macs": self.total("float_macs")}

    def format(self):
        head = ("Layer", "Type", "Output shape", "Binary #", "Float #", "Memory",
                "Binary MACs", "Float MACs")
        body = [(r.name, r.kind, _shape(r.output_shape), _count(r.binary_params),
                 _count(r.float_params), _bytes(r.memory), _count(r.binary_macs),
                 _count(r.float_macs)) for r in self.rows]
        total = ("Total", "", "", _count(self.binary_params), _count(self.float_params),
                 _bytes(self.memory), _count(self.total("binary_macs")),
                 _count(self.total("float_macs")))
        widths = [max(len(str(row[i])) for row in [head, total] + body) for i in range(len(head))]

        def line(row):
            return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(row, widths))).rstrip()
        rule = "-" * len(line(head))
        note = (" (guessed: the model does not record its input shape; pass input_shape / "
                "--input-shape)") if self.assumed_input else ""
        out = [f"{self.title}: input {_shape(self.input_shape)}{note}", rule, line(head), rule]
        out += [line(row) for row in body] + [rule, line(total), rule]
        bmacs, fmacs = self.total("binary_macs"), self.total("float_macs")
        out += [f"Parameters: {_count(self.binary_params + self.float_params)} "
                f"({_count(self.binary_params)} binary, {_count(self.float_params)} float)",
                f"Memory: {_bytes(self.memory)} deployed (binary packed, float32 otherwise) vs "
                f"{_bytes(self.float32_memory)} all float32: {self.compression:.1f}x smaller",
                f"MACs per image: {_count(bmacs)} binary, {_count(fmacs)} float"
                + (f" ({100.0 * bmacs / (bmacs + fmacs):.1f}% binary)" if bmacs + fmacs else "")]
        return "\n".join(out)

    __str__ = format

    def __repr__(self):  # a REPL shows the table
        return self.format()


def _count(n):
    return f"{int(n):,}" if n else "0"


def _bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0


def _shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _prod(shape):
    return int(np.prod(shape)) if shape else 0


def _packed_words(channels):
    return -(-int(channels) // 32)


# ------------------------------------------------------------------------------------------
# Graph analysis
# ------------------------------------------------------------------------------------------

def _analyse(sym_json, arg_shapes, input_shape, data_name, title, assumed):
    """Rows from a symbol JSON (dict) and the shapes of its variables."""
    import mxnet as mx

    graph = json.loads(sym_json) if isinstance(sym_json, str) else sym_json
    nodes = graph["nodes"]
    sym = mx.sym.load_json(json.dumps(graph))
    internals = sym.get_internals()
    known = {k: v for k, v in arg_shapes.items()
             if k in set(internals.list_arguments()) | set(internals.list_auxiliary_states())}
    known[data_name] = tuple(input_shape)
    try:
        # MXNet prints "infer_shape error. Arguments: ..." (every variable) before raising.
        with contextlib.redirect_stdout(io.StringIO()):
            _, out_shapes, _ = internals.infer_shape(**known)
    except mx.base.MXNetError as e:
        if assumed:
            raise ValueError(f"{title}: its input shape is not recorded (exported before bmxnet "
                             f"recorded it) and the guess {_shape(input_shape)} does not fit "
                             f"its layers; pass the input shape it expects (--input-shape "
                             f"N,C,H,W, or input_shape=)") from None
        # MXNet's last line, without its "[time] src/...cc:line:" prefix.
        reason = re.sub(r"^.*?\.(cc|h):\d+:\s*", "", str(e).strip().splitlines()[-1])
        raise ValueError(f"{title}: cannot infer the shapes for input {_shape(input_shape)} "
                         f"(pass the input shape the model expects): {reason}") from None
    if out_shapes is None:
        raise ValueError(f"{title}: cannot infer the shapes for input {_shape(input_shape)}")
    shape_of = dict(zip(internals.list_outputs(), out_shapes))

    def out_shape(i, k=0):
        node = nodes[i]
        if node["op"] == "null":
            return tuple(shape_of.get(node["name"]) or arg_shapes.get(node["name"]) or ())
        for key in (f"{node['name']}_output", f"{node['name']}_output{k}"):
            if key in shape_of:
                return tuple(shape_of[key])
        return ()

    def attrs(node):
        return node.get("attrs", node.get("param", {})) or {}

    def is_sign(i):
        return find_sign(nodes, i) is not None

    def data_is_binary(i):
        if nodes[i]["op"] == "Pad":
            i = nodes[i]["inputs"][0][0]
        return is_sign(i)

    def weight_source(i):
        """The variable a (possibly computed) weight comes from."""
        seen = 0
        while nodes[i]["op"] != "null" and seen < 32:
            candidates = [inp[0] for inp in nodes[i]["inputs"]]
            if not candidates:
                return None
            i = candidates[0]
            seen += 1
        return i if nodes[i]["op"] == "null" else None

    owned = set()
    rows = []
    row_of = {}  # node -> index of the last layer row upstream of it
    for i, node in enumerate(nodes):
        op = node["op"]
        if op not in _LAYER_OPS:
            upstream = [row_of[inp[0]] for inp in node["inputs"] if inp[0] in row_of]
            if upstream:
                row_of[i] = max(upstream)
            continue
        row_of[i] = len(rows)
        a = attrs(node)
        name = re.sub(r"_fwd$", "", node["name"])
        oshape = out_shape(i)
        inputs = [inp[0] for inp in node["inputs"]]
        row = LayerInfo(name, op, oshape)
        var_inputs = [j for j in inputs[1:] if nodes[j]["op"] == "null"]
        if op in ("Convolution", "FullyConnected", "Deconvolution"):
            w_in = inputs[1]
            wshape = out_shape(w_in)
            binary = is_sign(w_in) and data_is_binary(inputs[0])
            if op == "FullyConnected":
                macs = _prod(oshape[1:]) * (wshape[1] if len(wshape) > 1 else 0)
            else:
                macs = _prod(oshape[1:]) * _prod(wshape[1:])
            if binary:
                row.kind = "binary conv" if op == "Convolution" else "binary dense"
                row.binary_params = _prod(wshape)
                row.binary_bytes = 4 * wshape[0] * int(np.prod(wshape[2:])) * \
                    _packed_words(wshape[1]) if len(wshape) > 1 else 0
                row.binary_macs = macs
                src = weight_source(w_in)
                if src is not None:
                    owned.add(src)
            else:
                kbit = _mentions_kbit(nodes, w_in) or _mentions_kbit(nodes, inputs[0])
                row.kind = ("k-bit " if kbit else "float ") + \
                    {"Convolution": "conv", "FullyConnected": "dense"}.get(op, op.lower())
                if nodes[w_in]["op"] == "null":
                    row.float_params += _prod(wshape)
                    owned.add(w_in)
                else:  # a weight computed by other ops (k-bit, scaled, ...): count its source
                    src = weight_source(w_in)
                    if src is not None and src not in owned:
                        row.float_params += _prod(out_shape(src))
                        owned.add(src)
                row.float_macs = macs
            var_inputs = [j for j in inputs[2:] if nodes[j]["op"] == "null"]
        elif op in ("bmx_binary_conv2d", "bmx_binary_dense"):
            w_in = inputs[1]
            packed = out_shape(w_in)
            dshape = out_shape(inputs[0])
            if op == "bmx_binary_conv2d":
                groups = int(a.get("num_group", 1))
                c = dshape[1] // groups if len(dshape) > 1 else 0
                row.kind = "binary conv (packed)"
                row.binary_params = packed[0] * _prod(packed[1:3]) * c
                row.binary_macs = _prod(oshape[1:]) * _prod(packed[1:3]) * c
            else:
                k = _prod(dshape[1:]) if a.get("flatten", "True") in ("True", "1", "true") \
                    else (dshape[-1] if dshape else 0)
                row.kind = "binary dense (packed)"
                row.binary_params = packed[0] * k
                row.binary_macs = _prod(oshape[1:]) * k
            row.binary_bytes = 4 * _prod(packed)
            owned.add(w_in)
            var_inputs = [j for j in inputs[2:] if nodes[j]["op"] == "null"]
        else:
            row.kind = op
            var_inputs = [j for j in inputs[1:] if nodes[j]["op"] == "null"]
        for j in var_inputs:
            if j not in owned:
                row.float_params += _prod(out_shape(j))
                owned.add(j)
        row.float_bytes = 4 * row.float_params
        rows.append(row)

    # Parameters used after a layer by other ops (a bias added after xnor scaling, ABC-Net
    # coefficients, ...) belong to the layer whose output they meet.
    consumers = {}
    for i, node in enumerate(nodes):
        for inp in node["inputs"]:
            consumers.setdefault(inp[0], []).append(i)
    for i, node in enumerate(nodes):
        if node["op"] != "null" or i in owned or node["name"] == data_name or not out_shape(i):
            continue
        frontier, seen = list(consumers.get(i, [])), set()
        while frontier:
            j = frontier.pop(0)
            if j in seen:
                continue
            seen.add(j)
            if j in row_of:
                row = rows[row_of[j]]
                row.float_params += _prod(out_shape(i))
                row.float_bytes += 4 * _prod(out_shape(i))
                owned.add(i)
                break
            frontier += consumers.get(j, [])
    others = [i for i, n in enumerate(nodes) if n["op"] == "null" and i not in owned
              and n["name"] != data_name and out_shape(i)]
    if others:
        count = sum(_prod(out_shape(i)) for i in others)
        rows.append(LayerInfo("(other parameters)", ", ".join(nodes[i]["name"] for i in
                                                              others[:3]) +
                              (", ..." if len(others) > 3 else ""), (),
                              float_params=count, float_bytes=4 * count))
    return Summary(title, input_shape, rows, assumed)


def _mentions_kbit(nodes, i, depth=6):
    frontier = [i]
    for _ in range(depth):
        nxt = []
        for j in frontier:
            if nodes[j]["op"] in ("_contrib_round_ste", "round", "_contrib_quantize_v2"):
                return True
            nxt += [inp[0] for inp in nodes[j]["inputs"]]
        frontier = nxt
    return False


# ------------------------------------------------------------------------------------------
# Entry points
# ------------------------------------------------------------------------------------------

def summary(model, input_shape=None, epoch=None, data_name="data", print_fn=None):
    """Summary of a Gluon network (`input_shape` required) or of an exported / converted
    model given by its prefix (or -symbol.json / -NNNN.params path; `input_shape` defaults to
    the shape recorded at export, see :mod:`bmxnet.export`). Prints it with `print_fn` when
    given; returns the Summary."""
    import mxnet as mx

    from . import pairing
    from .export import recorded_input_shape
    from .input_shape import guess_input_shape
    from .model_files import model_files

    if isinstance(model, str):
        sym_file, params_file = model_files(model, epoch)
        graph = json.load(open(sym_file))
        pairing.check_pair(graph, sym_file, params_file)
        arg_shapes = {k.split(":", 1)[-1]: v.shape for k, v in mx.nd.load(params_file).items()}
        if input_shape is None:
            input_shape = recorded_input_shape(graph, data_name)
        assumed = input_shape is None
        if assumed:
            input_shape = guess_input_shape(graph, arg_shapes)
        title = os.path.basename(sym_file)[:-len("-symbol.json")]
        result = _analyse(graph, arg_shapes, input_shape, data_name, title, assumed)
    else:
        if input_shape is None:
            raise ValueError("summary(net, input_shape): a Gluon network needs input_shape")
        net = model
        params = net.collect_params()
        if any(not p.shape or 0 in p.shape for p in params.values()):
            from .nn import resolve_deferred_shapes
            x = mx.nd.zeros(input_shape)
            resolve_deferred_shapes(net, x)  # the weights of quantized layers first
            net.infer_shape(x)  # completes deferred shapes, no init
        data = mx.sym.var(data_name)
        out = net(data)
        if isinstance(out, (list, tuple)):
            out = mx.sym.Group(list(out))
        arg_shapes = {p.name: p.shape for p in params.values()}
        result = _analyse(json.loads(out.tojson()), arg_shapes, input_shape, data_name,
                          net.name, False)
    if print_fn is not None:
        print_fn(result.format())
    return result
