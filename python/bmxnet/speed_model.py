"""The speed-up a converted model should show over its float twin, predicted from its layers.

The float twin is the same network with every binary layer computed in float32: the same zoo
model built with ``bits=32, bits_a=32``, exported, converted (which folds its BatchNorms into
the float weights) and run by the same runtime (libbmx_runtime runs its float Convolution and
FullyConnected layers through XNNPACK). The prediction reads the converted model's plan in the
runtime (each step's op, kernel and MACs) and derives the twin's steps from it: each binary
layer becomes a float layer of the same MACs, and a binary convolution that adds a residual
in its epilogue becomes a float convolution followed by an element-wise add.

Each step costs ``MACs / throughput(kind, class)`` for convolutions and dense layers (kind
binary or float, class conv or dense), ``elements * seconds_per_element`` for the other steps
(pooling, BatchNorm, adds, copies: the larger of their output elements and their MACs), and a
fixed ``seconds_per_step``; fused steps cost nothing. The predicted speed-up is the twin's
summed cost over the converted model's. The throughputs come from :data:`STATED` or from
:func:`calibrate`, which times four one-layer graphs in the runtime on this machine (a binary
and a float 3x3 convolution, a binary and a float dense layer; about a second, nothing
cached). ``bmxnet benchmark MODEL --float-twin TWIN`` measures the speed-up the same way:
runtime time of the twin over runtime time of the converted model, batch 1, medians.
"""
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["Throughputs", "STATED", "Step", "Expectation", "plan_steps", "float_twin_steps",
           "step_seconds", "expect", "expect_model", "calibrate"]

_BINARY_OPS = {"bmx_binary_conv2d": "conv", "bmx_binary_dense": "dense"}
_FLOAT_OPS = {"Convolution": "conv", "FullyConnected": "dense"}


@dataclass(frozen=True)
class Throughputs:
    """MACs per second of each (kind, class) at batch 1, one thread, and the cost of the
    steps that are not convolutions or dense layers."""
    macs_per_second: Dict[Tuple[str, str], float]
    seconds_per_element: float
    seconds_per_step: float
    source: str


# Measured with calibrate(threads=1) on the x86-64 machine the project benchmarks on (AVX-512
# binary kernels, XNNPACK float layers); a stated table for when calibration is skipped.
STATED = Throughputs(
    macs_per_second={("binary", "conv"): 1000e9, ("binary", "dense"): 600e9,
                     ("float", "conv"): 55e9, ("float", "dense"): 12e9},
    seconds_per_element=0.15e-9, seconds_per_step=0.5e-6,
    source="stated table (x86-64, AVX-512 binary kernels, XNNPACK float, 1 thread)")


@dataclass
class Step:
    """One step of a plan as the cost model sees it."""
    name: str
    kind: str       # "binary", "float" (a float convolution or dense layer) or "other"
    cls: str        # "conv", "dense" or "" (other steps)
    macs: int
    elements: int   # output elements
    fused: bool = False
    residual: bool = False  # a binary convolution adding a residual in its epilogue


def plan_steps(plan: dict, graph: dict) -> List[Step]:
    """The cost model's steps of a runtime plan (Predictor.plan) of the symbol `graph`."""
    attrs = {n["name"]: n.get("attrs", {}) for n in graph["nodes"]}
    steps = []
    for node in plan["nodes"]:
        op, kernel = node["op"], node["kernel"]
        elements = int(np.prod(node["output_shape"])) if node["output_shape"] else 0
        if op in _BINARY_OPS:
            kind, cls = "binary", _BINARY_OPS[op]
        elif op in _FLOAT_OPS:
            kind, cls = "float", _FLOAT_OPS[op]
        else:
            kind, cls = "other", ""
        residual = attrs.get(node["name"], {}).get("add_residual", "False") == "True"
        steps.append(Step(node["name"], kind, cls, int(node["macs"]), elements,
                          fused=kernel == "fused", residual=residual))
    return steps


def _twin_of(s: Step) -> List[Step]:
    """The float twin's steps for one step: a binary layer as a float layer of the same MACs,
    and its fused residual add as an add step of the output's elements; any other step as is."""
    if s.kind != "binary":
        return [s]
    twin = [Step(s.name, "float", s.cls, s.macs, s.elements)]
    if s.residual:
        twin.append(Step(s.name + "/add", "other", "", 0, s.elements))
    return twin


def float_twin_steps(steps: Sequence[Step]) -> List[Step]:
    """The float twin's steps (_twin_of each step, in order)."""
    return [t for s in steps for t in _twin_of(s)]


def step_seconds(step: Step, tp: Throughputs) -> float:
    """The predicted seconds of one step."""
    if step.fused:
        return 0.0
    if step.kind in ("binary", "float"):
        return tp.seconds_per_step + step.macs / tp.macs_per_second[(step.kind, step.cls)]
    return tp.seconds_per_step + max(step.elements, step.macs) * tp.seconds_per_element


@dataclass
class Expectation:
    """The prediction for one converted model."""
    binary_macs: int
    float_macs: int             # the converted model's float layers
    binary_seconds: float       # predicted forward of the converted model
    twin_seconds: float         # predicted forward of its float twin
    source: str
    layers: List[Tuple[str, float, float]] = field(default_factory=list)  # name, binary, twin

    @property
    def binary_mac_share(self) -> float:
        total = self.binary_macs + self.float_macs
        return self.binary_macs / total if total else 0.0

    @property
    def speedup(self) -> float:
        return self.twin_seconds / self.binary_seconds if self.binary_seconds else 0.0

    def format(self) -> str:
        return (f"Binary MACs: {100 * self.binary_mac_share:.1f}% of "
                f"{(self.binary_macs + self.float_macs) / 1e6:,.1f}M MACs\n"
                f"Expected speed-up over the float twin: {self.speedup:.1f}x "
                f"({self.twin_seconds * 1e3:.3f} ms -> {self.binary_seconds * 1e3:.3f} ms "
                f"predicted at batch 1; throughputs: {self.source})\n"
                f"  (the float twin: the same network with every binary layer in float32, "
                f"run by the same runtime)")

    __str__ = format


def expect(steps: Sequence[Step], tp: Throughputs = STATED) -> Expectation:
    """The prediction for a converted model's steps (plan_steps)."""
    layers = [(s.name, step_seconds(s, tp), sum(step_seconds(t, tp) for t in _twin_of(s)))
              for s in steps]
    return Expectation(
        binary_macs=sum(s.macs for s in steps if s.kind == "binary"),
        float_macs=sum(s.macs for s in steps if s.kind == "float"),
        binary_seconds=sum(b for _, b, _ in layers), twin_seconds=sum(t for _, _, t in layers),
        source=tp.source, layers=layers)


def expect_model(model, input_shape: Optional[Sequence[int]] = None,
                 tp: Throughputs = STATED) -> Expectation:
    """The prediction for a converted model (a prefix, either file or a (symbol, params) pair)
    loaded into the runtime for its plan (nothing runs)."""
    from . import runtime

    with runtime.Predictor(model, input_shape, threads=1) as pred:
        with open(pred.symbol_file) as f:
            graph = json.load(f)
        return expect(plan_steps(pred.plan, graph), tp)


# ---- calibration ------------------------------------------------------------------------

def _layer_graph(op: str, attrs: Dict[str, str], params: Dict[str, np.ndarray]) -> dict:
    """A one-layer symbol graph: data and `params` (in order) into `op`."""
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    nodes += [{"op": "null", "name": name, "inputs": []} for name in params]
    nodes.append({"op": op, "name": "layer", "attrs": attrs,
                  "inputs": [[i, 0, 0] for i in range(len(nodes))]})
    return {"nodes": nodes, "arg_nodes": list(range(len(nodes) - 1)),
            "node_row_ptr": list(range(len(nodes) + 1)), "heads": [[len(nodes) - 1, 0, 0]],
            "attrs": {"mxnet_version": ["int", 10901]}}


def _calibration_layers():
    """(kind, class, op, attrs, params, input shape, MACs) of the four calibration layers:
    ResNet-18's stage-2 3x3 convolution (128 -> 128 channels at 28x28) and LeNet's hidden
    dense layer (6272 -> 512), each binary (packed) and float."""
    rng = np.random.RandomState(0)
    c, hw, k, n_in, n_out = 128, 28, 3, 6272, 512
    conv = dict(kernel="(3, 3)", stride="(1, 1)", dilate="(1, 1)", pad="(1, 1)",
                num_filter=str(c), num_group="1")
    ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)

    def words(*shape):  # packed sign bits, 32 channels per int32
        return rng.randint(-2 ** 31, 2 ** 31 - 1, shape).astype(np.int32)
    conv_macs, dense_macs = c * hw * hw * k * k * c, n_in * n_out
    return [
        ("binary", "conv", "bmx_binary_conv2d",
         dict(conv, pad_value="-1", use_scale="True", no_bias="False"),
         dict(w=words(c, k, k, c // 32), scale=ones, bias=zeros), (1, c, hw, hw), conv_macs),
        ("float", "conv", "Convolution", dict(conv, layout="NCHW", no_bias="False"),
         dict(w=rng.randn(c, c, k, k).astype(np.float32), bias=zeros), (1, c, hw, hw),
         conv_macs),
        ("binary", "dense", "bmx_binary_dense",
         dict(num_hidden=str(n_out), flatten="True", use_scale="True", no_bias="False"),
         dict(w=words(n_out, n_in // 32), scale=np.ones(n_out, np.float32),
              bias=np.zeros(n_out, np.float32)), (1, n_in), dense_macs),
        ("float", "dense", "FullyConnected",
         dict(num_hidden=str(n_out), flatten="True", no_bias="False"),
         dict(w=rng.randn(n_out, n_in).astype(np.float32), bias=np.zeros(n_out, np.float32)),
         (1, n_in), dense_macs),
    ]


def calibrate(threads: int = 1, seconds: float = 0.8) -> Throughputs:
    """Throughputs measured on this machine: the calibration layers in the runtime, each in
    a run of its own calls, about `seconds` in all (the median of the layer's step time in
    the runtime's profile, which leaves out the input and output copies of a call, after two
    untimed calls); the element and step costs stay the stated ones. The graphs go to a
    temporary directory, removed after."""
    from . import params_io, runtime

    layers = _calibration_layers()
    preds, inputs, times = [], [], []
    with tempfile.TemporaryDirectory(prefix="bmx_calibration_") as tmp:
        try:
            for kind, cls, op, attrs, params, shape, macs in layers:
                prefix = os.path.join(tmp, f"{kind}_{cls}")
                with open(f"{prefix}-symbol.json", "w") as f:
                    json.dump(_layer_graph(op, attrs, params), f)
                params_io.save(f"{prefix}-0000.params",
                               {f"arg:{k}": v for k, v in params.items()})
                preds.append(runtime.Predictor(prefix, shape, threads=threads))
                inputs.append(np.random.RandomState(1).uniform(-1, 1, shape).astype(np.float32))
                times.append([])
            # Each layer in a run of calls of its own, as a model called again and again runs
            # each of its layers: with its weights wherever the previous call left them.
            for pred, x, t in zip(preds, inputs, times):
                start = time.perf_counter()
                while len(t) < 8 or time.perf_counter() - start < seconds / len(preds):
                    steps, _ = pred.profile(x)  # the layer's own time, not the copies around it
                    t.append(sum(row["seconds"] for row in steps if row["node"] == "layer"))
        finally:
            for pred in preds:
                pred.close()
    measured = {}
    for (kind, cls, *_, macs), t in zip(layers, times):
        measured[(kind, cls)] = macs / max(float(np.median(t[2:])), 1e-9)
    return Throughputs(measured, STATED.seconds_per_element, STATED.seconds_per_step,
                       source=f"calibrated on this machine, {threads} thread"
                              f"{'s' if threads != 1 else ''}")
