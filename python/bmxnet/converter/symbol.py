"""MXNet symbol JSON to a Graph and back (nodes in nnvm's order, unknown keys passed through)."""

from collections import OrderedDict
from typing import Dict, List, Tuple

from .errors import ConversionError
from .graph import Graph, Node

# The op library's ops; any other ``bmx_`` op comes from a different bmxnet version.
BMX_OPS = frozenset(("bmx_det_sign", "bmx_approx_sign", "bmx_bitpack", "bmx_binary_conv2d",
                     "bmx_binary_dense"))


def parse_symbol(obj, path: str) -> Graph:
    """The Graph of a loaded symbol JSON object; `path` names the file in errors."""
    def bad(what):
        return ConversionError(
            f"{path} is not an MXNet symbol file ({what}); pass the PREFIX-symbol.json "
            "written by HybridBlock.export")

    if not isinstance(obj, dict) or not isinstance(obj.get("nodes"), list):
        raise bad('no "nodes" list')
    raw_nodes = obj["nodes"]
    if not raw_nodes:
        raise bad("it has no nodes")
    if not isinstance(obj.get("heads"), list) or not obj["heads"]:
        raise bad('no "heads" list')

    def entry(e, limit, where):
        if (not isinstance(e, list) or len(e) not in (2, 3)
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in e)):
            raise bad(f"{where} has a malformed input entry {e!r}")
        if not 0 <= e[0] < limit or e[1] < 0:
            raise bad(f"{where} refers to node {e[0]}, which does not come before it")
        return e[0], e[1], (e[2] if len(e) == 3 else 0)

    row_ptr = obj.get("node_row_ptr")
    counts = None
    if (isinstance(row_ptr, list) and len(row_ptr) == len(raw_nodes) + 1
            and all(isinstance(v, int) for v in row_ptr)):
        counts = [b - a for a, b in zip(row_ptr, row_ptr[1:])]
        if any(c < 1 for c in counts):
            counts = None

    nodes: List[Node] = []
    names_seen = set()
    for i, raw in enumerate(raw_nodes):
        if not isinstance(raw, dict):
            raise bad(f"node #{i} is not an object")
        op, name = raw.get("op"), raw.get("name")
        if not isinstance(op, str) or not op or not isinstance(name, str):
            raise bad(f'node #{i} has no "op" or "name" string')
        if not isinstance(raw.get("inputs", []), list):
            raise bad(f'node #{i} ({name}) has no "inputs" list')
        for key in ("attrs", "attr", "param"):
            attrs = raw.get(key)
            if attrs is not None and (not isinstance(attrs, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in attrs.items())):
                raise bad(f'node #{i} ({name}) has a malformed "{key}" object')
        if op.startswith("bmx_") and op not in BMX_OPS:
            raise ConversionError(
                f"{path} uses the op {op} (node {name}), which this version of bmxnet does not "
                "know; convert with the bmxnet version that trained the model")
        if op == "null":
            if raw.get("inputs"):
                raise bad(f"variable node #{i} ({name}) has inputs")
            if name in names_seen:
                raise bad(f"the variable {name} appears twice")
            names_seen.add(name)
        node = Node(raw, counts[i] if counts else 1)
        for src, idx, ver in (entry(e, i, f"node #{i} ({name})") for e in raw.get("inputs", [])):
            node.inputs.append((nodes[src], idx, ver))
        deps = raw.get("control_deps", [])
        if not isinstance(deps, list) or not all(
                isinstance(d, int) and 0 <= d < i for d in deps):
            raise bad(f'node #{i} ({name}) has malformed "control_deps"')
        node.control_deps = [nodes[d] for d in deps]
        nodes.append(node)
    if counts is None:  # no usable node_row_ptr: infer output counts from their uses
        for n in nodes:
            for src, idx, _ in n.inputs:
                src.num_outputs = max(src.num_outputs, idx + 1)
    heads = [entry(h, len(nodes), "the heads list") for h in obj["heads"]]
    heads = [(nodes[h[0]], h[1], h[2]) for h in heads]
    top_attrs = obj.get("attrs") if isinstance(obj.get("attrs"), dict) else None
    extra = {k: v for k, v in obj.items()
             if k not in ("nodes", "arg_nodes", "node_row_ptr", "heads", "attrs")}
    return Graph(nodes, heads, top_attrs, extra)


def serialize(graph: Graph, redirect: Dict[Tuple[Node, int], Tuple[Node, int]]):
    """The rewritten graph as MXNet symbol JSON (nodes in nnvm's post-order DFS from the heads),
    and that node order."""

    def resolve(entry):
        node, idx, ver = entry
        hops = 0
        while (node, idx) in redirect:
            node, idx = redirect[(node, idx)]
            ver = 0
            hops += 1
            assert hops <= len(graph.nodes) + 1, "cyclic redirect"
        return node, idx, ver

    heads = [resolve(h) for h in graph.heads]
    order: List[Node] = []
    visited = set()
    for head in heads:
        if head[0] in visited:
            continue
        visited.add(head[0])
        stack = [(head[0], 0)]
        while stack:
            node, k = stack[-1]
            deps = [resolve(e)[0] for e in node.inputs] + node.control_deps
            if k == len(deps):
                order.append(node)
                stack.pop()
                continue
            stack[-1] = (node, k + 1)
            if deps[k] not in visited:
                visited.add(deps[k])
                stack.append((deps[k], 0))

    # Name new variables: the preferred name unless a surviving variable already holds it.
    taken = {n.name for n in order if n.is_var and n.preferred_name is None}
    for n in order:
        if n.preferred_name is not None:
            name, k = n.preferred_name, 1
            while name in taken:
                name, k = f"{n.preferred_name}_{k}", k + 1
            n.name = n.raw["name"] = name
            taken.add(name)

    index = {n: i for i, n in enumerate(order)}
    nodes_out = []
    for n in order:
        raw = OrderedDict()
        for key, value in n.raw.items():
            if key == "inputs":
                value = [[index[s], i, v] for s, i, v in (resolve(e) for e in n.inputs)]
            elif key == "control_deps":
                value = [index[d] for d in n.control_deps]
            raw[key] = value
        raw["inputs"] = [[index[s], i, v] for s, i, v in (resolve(e) for e in n.inputs)]
        nodes_out.append(raw)
    row_ptr = [0]
    for n in order:
        row_ptr.append(row_ptr[-1] + n.num_outputs)
    out = OrderedDict()
    out["nodes"] = nodes_out
    out["arg_nodes"] = [i for i, n in enumerate(order) if n.is_var]
    out["node_row_ptr"] = row_ptr
    out["heads"] = [[index[n], i, v] for n, i, v in heads]
    if graph.top_attrs is not None:
        out["attrs"] = graph.top_attrs  # keeps mxnet_version, which decides legacy upgrades
    out.update(graph.extra)
    return out, order
