"""Hand-written MXNet symbol JSON for the converter's tests, spelled the way HybridBlock.export
spells it (`Sym`), and the in-memory `Conversion` of one, for the tests of single passes."""
import json
import os
from collections import OrderedDict

import numpy as np

from bmxnet import params_io
from bmxnet.converter.conversion import Conversion
from bmxnet.converter.params import Params
from bmxnet.converter.passes import PASSES
from bmxnet.converter.symbol import parse_symbol


def _tuple(t):
    t = tuple(t)
    return "(%d,)" % t if len(t) == 1 else str(t)


class Sym:
    def __init__(self):
        self.nodes, self.params, self.rng = [], {}, np.random.RandomState(0)

    def _add(self, op, name, inputs, attrs=None, outputs=1):
        node = {"op": op, "name": name, "inputs": [[i, k, 0] for i, k in inputs]}
        if attrs:
            node["attrs"] = {k: str(v) for k, v in attrs.items()}
        node["_outputs"] = outputs
        self.nodes.append(node)
        return len(self.nodes) - 1

    def data(self, name="data"):
        return (self._add("null", name, []), 0)

    def param(self, name, value, aux=False):
        self.params[("aux:" if aux else "arg:") + name] = value
        idx = self._add("null", name, [], {"__shape__": _tuple(value.shape), "__dtype__": "0"})
        if aux:
            self.nodes[idx]["_aux"] = True
        return (idx, 0)

    def op(self, op, name, inputs, **attrs):
        return (self._add(op, name, inputs, attrs, 3 if op == "BatchNorm" else 1), 0)

    def sign(self, x, name, op="bmx_det_sign"):
        return self.op(op, name, [x], **({"clip_threshold": "1.0"} if op == "bmx_det_sign" else {}))

    def weight(self, name, shape, low=-1.0, high=1.0):
        w = self.rng.uniform(low, high, size=shape).astype(np.float32)
        w.flat[0] = 0.0  # sign(0) must pack as +1
        return self.param(name, w)

    def conv(self, x, name, channels, in_channels, kernel=(3, 3), pad=(0, 0), stride=(1, 1),
             dilate=(1, 1), groups=1, bias=True, binary=True, sign_data=True, pad_node=None,
             sign_op="bmx_det_sign"):
        """QConv2D as nn.py exports it (binary=True) or a float Conv2D (binary=False)."""
        if binary and sign_data:
            x = self.sign(x, f"{name}_data_sign", sign_op)
        if pad_node is not None:
            x = self.op("Pad", f"{name}_pad", [x], mode="constant", constant_value=pad_node[0],
                        pad_width=_tuple(pad_node[1]))
        w = self.weight(f"{name}_weight", (channels, in_channels // groups) + tuple(kernel))
        if binary:
            w = self.sign(w, f"{name}_weight_sign", sign_op)
        inputs = [x, w]
        if bias:
            inputs.append(self.param(f"{name}_bias", self.rng.randn(channels).astype(np.float32)))
        return self.op("Convolution", f"{name}_fwd", inputs, kernel=_tuple(kernel),
                       stride=_tuple(stride), dilate=_tuple(dilate), pad=_tuple(pad),
                       num_filter=channels, num_group=groups, no_bias=not bias, layout="NCHW")

    def dense(self, x, name, units, in_units, bias=True, binary=True, flatten=True):
        if binary:
            x = self.sign(x, f"{name}_data_sign")
        w = self.weight(f"{name}_weight", (units, in_units))
        if binary:
            w = self.sign(w, f"{name}_weight_sign")
        inputs = [x, w]
        if bias:
            inputs.append(self.param(f"{name}_bias", self.rng.randn(units).astype(np.float32)))
        return self.op("FullyConnected", f"{name}_fwd", inputs, num_hidden=units,
                       no_bias=not bias, flatten=flatten)

    def batchnorm(self, x, name, channels, fix_gamma=False, eps=1e-5, axis=1):
        r = self.rng
        ins = [x, self.param(f"{name}_gamma", r.uniform(0.5, 2, channels).astype(np.float32)),
               self.param(f"{name}_beta", r.randn(channels).astype(np.float32)),
               self.param(f"{name}_running_mean", r.randn(channels).astype(np.float32), aux=True),
               self.param(f"{name}_running_var", r.uniform(0.1, 3, channels).astype(np.float32),
                          aux=True)]
        return self.op("BatchNorm", f"{name}_fwd", ins, axis=axis, eps=eps, fix_gamma=fix_gamma,
                       momentum=0.9, use_global_stats=False)

    def to_json(self, heads):
        nodes, row_ptr = [], [0]
        for n in self.nodes:
            nodes.append({k: v for k, v in n.items() if not k.startswith("_")})
            row_ptr.append(row_ptr[-1] + n["_outputs"])
        for n in self.nodes:  # aux inputs carry version 1, as MXNet writes them
            for e in n["inputs"]:
                if self.nodes[e[0]].get("_aux"):
                    e[2] = 1
        return {"nodes": nodes,
                "arg_nodes": [i for i, n in enumerate(self.nodes) if n["op"] == "null"],
                "node_row_ptr": row_ptr, "heads": [[h[0], h[1], 0] for h in heads],
                "attrs": {"mxnet_version": ["int", 10901]}}

    def save(self, directory, heads, prefix="model", epoch=0):
        sym_path = os.path.join(str(directory), f"{prefix}-symbol.json")
        params_path = os.path.join(str(directory), f"{prefix}-{epoch:04d}.params")
        with open(sym_path, "w") as f:
            json.dump(self.to_json(heads), f, indent=2)
        params_io.save(params_path, self.params)
        return sym_path, params_path


def conversion(sym: Sym, heads, fold_batchnorm=True) -> Conversion:
    """The Conversion of `sym` with `heads`, before any pass."""
    graph = parse_symbol(sym.to_json(heads), "model-symbol.json")
    return Conversion(graph, Params(OrderedDict(sym.params), "model-0000.params"),
                      "model-symbol.json", fold_batchnorm)


def run_through(c: Conversion, last) -> Conversion:
    """Runs the passes of `c` in order up to and including `last`."""
    for run in PASSES:
        run(c)
        if run is last:
            return c
    raise AssertionError(f"{last} is not a pass")


def run_before(c: Conversion, first) -> Conversion:
    """Runs the passes of `c` in order up to `first`, which it does not run."""
    for run in PASSES:
        if run is first:
            return c
        run(c)
    raise AssertionError(f"{first} is not a pass")
