"""The quantizers' straight-through signs, found in the exported graph and replaced by the op
library's ``bmx_det_sign`` / ``bmx_approx_sign`` (same forward values), so that the layer
patterns (``patterns``) see one sign node whatever ops the training graph spelled it with.

The stock-op signs are spelled out in ``bmxnet.ste_sign``; graphs exported with the op
library's signs pass through unchanged.
"""
from typing import List

from ..ste_sign import find_sign

__all__ = ["normalize_signs"]


def normalize_signs(graph) -> List[str]:
    """Replaces each stock-op sign of `graph` by one library sign node, in place; returns
    notes."""
    index = {node: i for i, node in enumerate(graph.nodes)}
    view = [{"op": n.op, "attrs": n.attrs, "inputs": [[index[s], k, v] for s, k, v in n.inputs]}
            for n in graph.nodes]
    replaced = 0
    for i, node in enumerate(graph.nodes):
        found = find_sign(view, i)
        if found is None or len(found.members) == 1:
            continue
        if found.kind == "det_sign":
            node.set_op("bmx_det_sign", {"clip_threshold": repr(float(found.clip_threshold))})
        else:
            node.set_op("bmx_approx_sign", {})
        src, k = found.source
        node.inputs = [(graph.nodes[src], k, 0)]
        replaced += 1
    if not replaced:
        return []
    graph.link_consumers()
    return [f"{replaced} straight-through signs of stock ops read as bmx_ signs"]
