"""A saved model's input shape when the caller gives none: the shape recorded at export or
conversion (bmx_input_shape, see bmxnet.export), else a guess from its first layer's weight."""

import json
from typing import Dict, Optional, Tuple

__all__ = ["model_input_shape", "guess_input_shape"]


def guess_input_shape(graph: dict, arg_shapes: Dict[str, Tuple[int, ...]]) -> Tuple[int, ...]:
    """A plausible input for a model whose input shape is not recorded: the channels of the
    first layer's weight, 28x28 for one channel, 224x224 otherwise; (1, K) for a model that
    starts with a FullyConnected of K inputs. ValueError when no first layer says."""
    nodes = graph["nodes"]
    for node in nodes:
        if node["op"] in ("Convolution", "bmx_binary_conv2d"):
            w = nodes[node["inputs"][1][0]]
            wshape = arg_shapes.get(w["name"])
            if w["op"] == "null" and wshape:
                groups = int((node.get("attrs") or {}).get("num_group", 1))
                channels = wshape[1] * groups if node["op"] == "Convolution" else None
                if channels:
                    side = 28 if channels == 1 else 224
                    return (1, channels, side, side)
        if node["op"] in ("FullyConnected", "bmx_binary_dense"):
            w = nodes[node["inputs"][1][0]]
            wshape = arg_shapes.get(w["name"])
            if w["op"] == "null" and wshape and node["op"] == "FullyConnected":
                return (1, wshape[1])
    raise ValueError("cannot guess the input shape of this model; pass input_shape")


def model_input_shape(symbol_file: str, params_file: str,
                      graph: Optional[dict] = None) -> Tuple[Tuple[int, ...], bool]:
    """(input shape, guessed) of a saved model: the recorded shape (guessed False), else
    guess_input_shape over the params file's shapes (guessed True). `graph` is the parsed
    symbol file when the caller has read it already."""
    from . import params_io
    from .export import recorded_input_shape

    if graph is None:
        with open(symbol_file) as f:
            graph = json.load(f)
    recorded = recorded_input_shape(graph)
    if recorded is not None:
        return tuple(recorded), False
    saved = params_io.load(params_file)
    arg_shapes = {k.split(":", 1)[-1]: v.shape for k, v in saved.items()
                  if k.startswith("arg:") and v is not None}
    return tuple(guess_input_shape(graph, arg_shapes)), True
