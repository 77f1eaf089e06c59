"""Writes the fuzz seeds (tests/fuzz/seeds): tiny converted models in the fuzz target's input
layout (tests/fuzz/model_input.h): 4 bytes symbol JSON length (little-endian), 4 shape bytes
(N, C, H, W as 1 + b4 % 2, 1 + b5 % 16, 1 + b6 % 32, 1 + b7 % 32), the JSON, the .params bytes.

  .venv/bin/python tests/fuzz/make_seeds.py [--out tests/fuzz/seeds]      # models and variants
  python3 tests/fuzz/make_seeds.py --variants-only                        # variants (no MXNet)

Seeds: a binary LeNet (float conv, BatchNorm, relu, max pool, binary conv and dense, float dense)
and a binary ResNet (two basic blocks with a downsampling shortcut, global average pool), both a
few channels wide at 8x8 so that each seed stays a few KB and runs in microseconds.

Structural variants (struct_*): the two models' symbol JSON with its structure broken in one way
each (nodes dropped, duplicated or swapped, input indices out of range or negative, entries of
the wrong arity or type, attributes of the wrong type, huge or malformed numbers and tuples,
unknown or swapped op names, heads and top-level keys wrong, values nested thousands deep), so
that the fuzzer starts from inputs past the JSON parser in each of the loader's checks; the
fuzz target's custom mutator (structure_mutator.h) makes the same kinds of change at random.
They are made from the model seeds already written, so --variants-only needs no MXNet.
Regression inputs (files that once crashed the runtime) live beside them and are never
rewritten here.
"""
import argparse
import os
import struct
import sys
import tempfile

import copy
import json


MODELS = ("tiny_binary_lenet", "tiny_binary_resnet")
# The ResNet's variants: only the graph changes that its shortcuts and sums make different (the
# others would repeat the LeNet's, about 17 KB each).
RESNET_VARIANTS = {"drop_first_op", "drop_last_node", "duplicate_op", "swap_op_and_input",
                   "reverse_nodes", "input_later", "input_output_index", "inputs_extra",
                   "op_swapped", "op_binary_dense", "name_duplicate", "heads_two",
                   "heads_variable", "params_id_wrong"}


def _randomize(net, rng):
    import mxnet as mx
    for name, p in sorted(net.collect_params().items()):
        if name.endswith(("running_var", "gamma")):
            value = rng.uniform(0.5, 2.0, p.shape)
        else:
            value = rng.uniform(-1.0, 1.0, p.shape)
        p.set_data(mx.nd.array(value, dtype="float32"))


def seed_bytes(net, shape, seed):
    """The converted `net` at input `shape` (N, C, H, W) in the fuzz input layout."""
    import mxnet as mx
    import numpy as np
    from bmxnet.converter import convert
    rng = np.random.RandomState(seed)
    x = mx.nd.array(rng.uniform(-1.0, 1.0, shape))
    net.initialize(mx.init.Uniform(1.0))
    net(x)
    _randomize(net, rng)
    net.hybridize()
    net(x)
    with tempfile.TemporaryDirectory() as tmp:
        net.export(os.path.join(tmp, "float"))
        convert(os.path.join(tmp, "float-symbol.json"), os.path.join(tmp, "float-0000.params"),
                out_prefix=os.path.join(tmp, "model"), verbose=False)
        with open(os.path.join(tmp, "model-symbol.json"), "rb") as f:
            symbol = f.read()
        with open(os.path.join(tmp, "model-0000.params"), "rb") as f:
            params = f.read()
    n, c, h, w = shape
    header = struct.pack("<I", len(symbol)) + bytes([n - 1, c - 1, h - 1, w - 1])
    return header + symbol + params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "seeds"))
    parser.add_argument("--variants-only", action="store_true",
                        help="only rewrite the struct_* variants of the model seeds in --out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if not args.variants_only:
        write_models(args.out)
    write_variants(args.out)
    return 0


def write_models(out):
    import bmxnet
    from bmxnet.model_zoo.resnet import BinaryResNetV1

    seeds = {
        "tiny_binary_lenet": (bmxnet.model_zoo.get_model(
            "binary_lenet", classes=10, channels=(4, 8), hidden=16), (1, 1, 8, 8)),
        "tiny_binary_resnet": (BinaryResNetV1([1, 1], [8, 8, 16], classes=4, thumbnail=True,
                                              prefix="tiny_resnet_"), (1, 3, 8, 8)),
    }
    for i, (name, (net, shape)) in enumerate(sorted(seeds.items())):
        data = seed_bytes(net, shape, seed=i)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


def split(data):
    """(symbol dict, shape header bytes, params bytes) of a seed in the fuzz input layout."""
    (length,) = struct.unpack("<I", data[:4])
    return json.loads(data[8:8 + length]), data[4:8], data[8 + length:]


def join(symbol, shape, params):
    text = symbol if isinstance(symbol, bytes) else json.dumps(symbol).encode()
    return struct.pack("<I", len(text)) + shape + text + params


def _first(nodes, op):
    return next(i for i, n in enumerate(nodes) if n["op"] == op)


def _nested(depth, objects=False):
    return ('{"a":' * depth + "1" + "}" * depth) if objects else ("[" * depth + "1" + "]" * depth)


def variants(symbol):
    """(name, symbol dict or JSON bytes) pairs: `symbol` broken in one way each."""
    nodes = symbol["nodes"]
    conv = _first(nodes, "Convolution")
    last = len(nodes) - 1
    out = []

    def edit(name, change):
        s = copy.deepcopy(symbol)
        change(s, s["nodes"])
        out.append((name, s))

    edit("drop_first_op", lambda s, n: n.pop(conv))
    edit("drop_variable", lambda s, n: n.pop(1))
    edit("drop_last_node", lambda s, n: n.pop())
    edit("duplicate_op", lambda s, n: n.insert(conv + 1, copy.deepcopy(n[conv])))
    edit("duplicate_data", lambda s, n: n.insert(1, copy.deepcopy(n[0])))
    edit("swap_op_and_input", lambda s, n: n.__setitem__(slice(conv - 1, conv + 1),
                                                         [n[conv], n[conv - 1]]))
    edit("reverse_nodes", lambda s, n: n.reverse())
    edit("input_self", lambda s, n: n[conv]["inputs"].__setitem__(0, [conv, 0, 0]))
    edit("input_later", lambda s, n: n[conv]["inputs"].__setitem__(0, [last, 0, 0]))
    edit("input_past_end", lambda s, n: n[conv]["inputs"].__setitem__(0, [len(n), 0, 0]))
    edit("input_negative", lambda s, n: n[conv]["inputs"].__setitem__(0, [-1, 0, 0]))
    edit("input_huge", lambda s, n: n[conv]["inputs"].__setitem__(0, [2 ** 63 - 1, 0, 0]))
    edit("input_output_index", lambda s, n: n[conv]["inputs"].__setitem__(0, [0, 7, 0]))
    edit("input_pair", lambda s, n: n[conv]["inputs"].__setitem__(0, [0, 0]))
    edit("input_short", lambda s, n: n[conv]["inputs"].__setitem__(0, [0]))
    edit("input_long", lambda s, n: n[conv]["inputs"].__setitem__(0, [0, 0, 0, 0, 0]))
    edit("input_string", lambda s, n: n[conv]["inputs"].__setitem__(0, ["0", 0, 0]))
    edit("input_float", lambda s, n: n[conv]["inputs"].__setitem__(0, [0.5, 0, 0]))
    edit("inputs_object", lambda s, n: n[conv].__setitem__("inputs", {"0": [0, 0, 0]}))
    edit("inputs_missing", lambda s, n: n[conv].pop("inputs"))
    edit("inputs_extra", lambda s, n: n[conv]["inputs"].append([0, 0, 0]))
    edit("variable_with_input", lambda s, n: n[1].__setitem__("inputs", [[0, 0, 0]]))
    edit("attr_number", lambda s, n: n[conv]["attrs"].__setitem__("num_filter", 4))
    edit("attr_null", lambda s, n: n[conv]["attrs"].__setitem__("kernel", None))
    edit("attr_list", lambda s, n: n[conv]["attrs"].__setitem__("kernel", [5, 5]))
    edit("attrs_list", lambda s, n: n[conv].__setitem__("attrs", ["kernel", "(5, 5)"]))
    edit("attr_huge", lambda s, n: n[conv]["attrs"].__setitem__("num_filter", "4294967297"))
    edit("attr_overflow", lambda s, n: n[conv]["attrs"].__setitem__(
        "num_filter", "99999999999999999999999"))
    edit("attr_negative", lambda s, n: n[conv]["attrs"].__setitem__("num_filter", "-4"))
    edit("attr_nan", lambda s, n: n[conv]["attrs"].__setitem__("num_filter", "nan"))
    edit("kernel_zero", lambda s, n: n[conv]["attrs"].__setitem__("kernel", "(0, 0)"))
    edit("kernel_huge", lambda s, n: n[conv]["attrs"].__setitem__("kernel", "(65536, 65536)"))
    edit("kernel_3d", lambda s, n: n[conv]["attrs"].__setitem__("kernel", "(5, 5, 5)"))
    edit("kernel_unclosed", lambda s, n: n[conv]["attrs"].__setitem__("kernel", "(5, 5"))
    edit("stride_zero", lambda s, n: n[conv]["attrs"].__setitem__("stride", "(0, 0)"))
    edit("pad_huge", lambda s, n: n[conv]["attrs"].__setitem__("pad", "(2147483647, 1)"))
    edit("dilate_huge", lambda s, n: n[conv]["attrs"].__setitem__("dilate", "(4294967296, 1)"))
    edit("shape_attr_huge", lambda s, n: n[1]["attrs"].__setitem__(
        "__shape__", "(1099511627776, 1, 5, 5)"))
    edit("op_unknown", lambda s, n: n[conv].__setitem__("op", "bmx-fuzz"))
    edit("op_variable", lambda s, n: n[conv].__setitem__("op", "null"))
    edit("op_of_variable", lambda s, n: n[1].__setitem__("op", "Convolution"))
    edit("op_swapped", lambda s, n: n[conv].__setitem__("op", "FullyConnected"))
    edit("op_binary_dense", lambda s, n: n[conv].__setitem__("op", "bmx_binary_dense"))
    edit("op_number", lambda s, n: n[conv].__setitem__("op", 3))
    edit("op_missing", lambda s, n: n[conv].pop("op"))
    edit("name_duplicate", lambda s, n: n[conv].__setitem__("name", n[1]["name"]))
    edit("name_missing", lambda s, n: n[conv].pop("name"))
    edit("heads_empty", lambda s, n: s.__setitem__("heads", []))
    edit("heads_past_end", lambda s, n: s.__setitem__("heads", [[len(n), 0, 0]]))
    edit("heads_variable", lambda s, n: s.__setitem__("heads", [[1, 0, 0]]))
    edit("heads_two", lambda s, n: s["heads"].append([conv, 0, 0]))
    edit("heads_object", lambda s, n: s.__setitem__("heads", {"a": 1}))
    edit("nodes_missing", lambda s, n: s.pop("nodes"))
    edit("nodes_object", lambda s, n: s.__setitem__("nodes", {"0": n[0]}))
    edit("node_string", lambda s, n: n.__setitem__(conv, "Convolution"))
    edit("graph_attrs_list", lambda s, n: s.__setitem__("attrs", [1, 2]))
    edit("params_id_wrong", lambda s, n: s.setdefault("attrs", {}).__setitem__(
        "bmx_params_sha256", ["str", "0" * 64]))
    edit("params_id_number", lambda s, n: s.setdefault("attrs", {}).__setitem__(
        "bmx_params_sha256", 7))
    # Deep nesting is spliced into the text (json.dumps would recurse that deep).
    text = json.dumps(symbol)
    marker = '"bmx-fuzz-nest"'
    for name, where, objects in (("nested_attr", "attr", False), ("nested_input", "input", False),
                                 ("nested_heads_objects", "heads", True)):
        s = copy.deepcopy(symbol)
        if where == "attr":
            s["nodes"][conv]["attrs"]["kernel"] = "bmx-fuzz-nest"
        elif where == "input":
            s["nodes"][conv]["inputs"][0] = "bmx-fuzz-nest"
        else:
            s["heads"] = "bmx-fuzz-nest"
        out.append((name, json.dumps(s).replace(marker, _nested(4000, objects)).encode()))
    out.append(("truncated_json", text[:len(text) // 2].encode()))
    return out


def write_variants(out):
    written = 0
    for model in MODELS:
        with open(os.path.join(out, model), "rb") as f:
            symbol, shape, params = split(f.read())
        short = model.replace("tiny_binary_", "")
        for name, broken in variants(symbol):
            if model == "tiny_binary_resnet" and name not in RESNET_VARIANTS:
                continue
            with open(os.path.join(out, f"struct_{short}_{name}"), "wb") as f:
                f.write(join(broken, shape, params))
            written += 1
    print(f"{written} structural variants of {', '.join(MODELS)}")


if __name__ == "__main__":
    sys.exit(main())
