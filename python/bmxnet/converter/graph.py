"""The in-memory graph: nodes of an MXNet symbol with their inputs and consumers."""

from typing import Dict, List, Optional, Tuple


class Node:
    """One node of the symbol JSON; `raw` keeps unknown keys so they pass through unchanged."""

    def __init__(self, raw: dict, num_outputs: int = 1):
        self.raw = raw
        self.op = raw["op"]
        self.name = raw["name"]
        self.inputs: List[Tuple["Node", int, int]] = []
        self.control_deps: List["Node"] = []
        self.num_outputs = num_outputs
        self.preferred_name: Optional[str] = None  # new variables get a unique name on output

    @property
    def attrs(self) -> dict:
        # Old MXNet JSON spelled "attrs" as "attr" / "param".
        for key in ("attrs", "attr", "param"):
            if isinstance(self.raw.get(key), dict):
                return self.raw[key]
        return {}

    @property
    def is_var(self) -> bool:
        return self.op == "null"

    def hidden_attrs(self) -> dict:
        """Its ``__hidden__`` attributes (``__shape__``, ``__dtype__``, ...), which MXNet keeps
        with a node whatever its op."""
        return {k: v for k, v in self.attrs.items() if k.startswith("__") and k.endswith("__")}

    def set_op(self, op: str, attrs: dict):
        """Makes this node `op` with `attrs`, keeping its ``__hidden__`` attributes."""
        keep = self.hidden_attrs()
        for key in ("attr", "param"):
            self.raw.pop(key, None)
        self.op = self.raw["op"] = op
        self.raw["attrs"] = {**keep, **attrs}

    def __repr__(self):
        return f"<{self.op} {self.name}>"


def new_node(op: str, name: str, attrs: dict, inputs) -> Node:
    node = Node({"op": op, "name": name, "attrs": attrs, "inputs": []})
    node.inputs = [(n, i, 0) for n, i in inputs]
    return node


class Graph:
    def __init__(self, nodes: List[Node], heads, top_attrs: Optional[dict], extra: dict):
        self.nodes = nodes
        self.heads = heads
        self.top_attrs = top_attrs
        self.extra = extra  # other top-level keys, passed through
        self.consumers: Dict[Node, List[Tuple[Node, int, int]]] = {}
        self.link_consumers()

    def link_consumers(self):
        """Rebuilds `consumers` from the nodes' inputs (after a pass rewired them)."""
        self.consumers = {n: [] for n in self.nodes}
        for n in self.nodes:
            for slot, (src, idx, _ver) in enumerate(n.inputs):
                self.consumers[src].append((n, slot, idx))

    def used_as_head(self, node: Node, index: Optional[int] = None) -> bool:
        return any(h[0] is node and (index is None or h[1] == index) for h in self.heads)
