"""The ``bmxnet`` command.

    bmxnet summary PREFIX [--input-shape 1,3,224,224] [--epoch N] [--json] [--runtime]
    bmxnet predict PREFIX IMAGE... [--input-shape ...] [--top 5] [--labels FILE] [--runtime]
    bmxnet benchmark PREFIX [--threads N] [--runs N] [--profile] [--mxnet] [--float FLOAT]
                     [--float-twin TWIN [--no-calibrate]] [--json]
    bmxnet launch -n 2 -s 1 --launcher local python examples/mnist/train.py --kvstore dist_sync

PREFIX is an exported or converted model: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params``
(the latest epoch unless --epoch); a path to either file works too.

--runtime runs a converted model through libbmx_runtime instead of MXNet (predict), or shows
the plan the runtime makes for it (summary): ops, kernels, output shapes, arena and weight
bytes, instruction set and float backend. Neither imports MXNet.

benchmark times a converted model through libbmx_runtime (without MXNet) and says where the
time goes (--profile); --mxnet also times it through MXNet + the op library, --float a float
model (e.g. the export before conversion), side by side with the ratios; --float-twin the
converted model's float twin through the runtime, with the predicted and measured speed-up.
"""
import argparse
import json
import os
import sys

from .argtypes import int_range, one_line_errors, shape

__all__ = ["main"]


def _floats(text):
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or any(v != v or abs(v) == float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (one per channel), "
                                         f"got {text!r}")
    return values


def _cmd_summary(args):
    if args.runtime:
        return _runtime_summary(args)
    from .summary import summary

    result = summary(args.prefix, input_shape=args.input_shape, epoch=args.epoch)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.format())
    return 0


def _runtime_summary(args):
    from . import runtime
    from .summary import _bytes, _count, _shape

    with runtime.Predictor(args.prefix, args.input_shape, epoch=args.epoch) as pred:
        plan = dict(pred.plan, input_shape=list(pred.input_shape))
    if args.json:
        print(json.dumps(plan, indent=1))
        return 0
    head = ("#", "Node", "Op", "Kernel", "Output shape", "MACs")
    body = [(str(i), n["name"], n["op"], n["kernel"], _shape(n["output_shape"]),
             _count(n.get("macs", 0))) for i, n in enumerate(plan["nodes"])]
    total = ("", "Total", "", "", "", _count(sum(n.get("macs", 0) for n in plan["nodes"])))
    widths = [max(len(row[i]) for row in [head, total] + body) for i in range(len(head))]

    def line(row):
        return "  ".join(c.rjust(w) if i in (0, 5) else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths))).rstrip()
    rule = "-" * len(line(head))
    note = ""
    print("\n".join([f"{pred.symbol_file} through libbmx_runtime: input "
                     f"{_shape(pred.input_shape)}{note}", rule, line(head), rule]
                    + [line(row) for row in body] + [rule, line(total), rule]))
    print(f"Arena: {_bytes(plan['arena_bytes'])} (activations, reused across layers); "
          f"weights: {_bytes(plan['weight_bytes'])}")
    print(f"Kernels: {plan['isa']} (binary), {plan['float_backend']} (float)")
    if plan.get("isa_note"):
        print(f"Note: {plan['isa_note']}")
    return 0


def _input_shape(args, graph, sym_file, params_file, what):
    """--input-shape, else the shape recorded at export / conversion, else a guess (said on
    stderr)."""
    from .input_shape import model_input_shape

    if args.input_shape is not None:
        return args.input_shape
    shape, guessed = model_input_shape(sym_file, params_file, graph)
    if guessed:
        print(f"{what}: input shape {shape} guessed: {sym_file} does not record it (exported "
              f"before bmxnet recorded input shapes); pass --input-shape to be sure",
              file=sys.stderr)
    return shape


def _check_params_match(graph, sym_file, params_file):
    """The converter's sentence when the params file does not belong to the symbol (written
    by another conversion, or holding another model's parameters)."""
    from . import pairing, params_io

    variables = [n["name"] for n in graph.get("nodes", []) if n.get("op") == "null"]
    with open(params_file, "rb") as f:
        data = f.read()  # read once: parsed here, hashed by the pair check
    loaded = params_io.loads(data, source=os.fspath(params_file))
    pairing.check_pair(graph, sym_file, params_file, data)
    keys = list(loaded) if isinstance(loaded, dict) else []
    mismatch = params_io.mismatch_message(params_file, sym_file, keys, variables)
    if mismatch:
        raise ValueError(mismatch)


def _cmd_predict(args):
    import numpy as np

    from .input_file import load_input
    from .model_files import model_files

    sym_file, params_file = model_files(args.prefix, args.epoch)
    with open(sym_file) as f:
        graph = json.load(f)
    _check_params_match(graph, sym_file, params_file)
    shape = _input_shape(args, graph, sym_file, params_file, "bmxnet predict")
    if len(shape) != 4:
        raise ValueError(f"the model's input shape is {shape}; bmxnet predict classifies "
                         f"images, N,C,H,W (pass --input-shape N,C,H,W if the model takes them)")
    labels = None
    if args.labels:
        labels = [line.strip() for line in open(args.labels) if line.strip()]
    names, samples = [], []
    for path in args.inputs:
        # The tensor bmx_run makes of the same file (libbmx_runtime's input rules).
        batch = load_input(path, shape, args.mean, args.std)
        samples.append(batch)
        names += [path] if len(batch) == 1 and not path.endswith(".npy") else \
            [f"{path}[{i}]" for i in range(len(batch))]
    batch = np.concatenate(samples)
    if args.runtime:
        from . import runtime

        with runtime.Predictor((sym_file, params_file), batch.shape,
                               threads=args.threads) as pred:
            out = pred.predict(batch)
    else:
        out = _mxnet_outputs(sym_file, params_file, batch)
    if args.softmax:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    for name, scores in zip(names, out):
        top = np.argsort(-scores)[:args.top]
        ranked = ", ".join(f"{labels[i] if labels and i < len(labels) else i} "
                           f"({scores[i]:.3f})" for i in top)
        print(f"{name}: {ranked}")
    return 0


def _mxnet_outputs(sym_file, params_file, batch):
    """The model's first output for `batch` through MXNet with the bmx_ ops, the graph run as
    trained, op by op through a CachedOp: MXNet's executor would apply oneDNN's graph fusion,
    which folds a BatchNorm into the convolution before it and so moves values that sit
    exactly at a sign's threshold (and prints a notice when told not to)."""
    import mxnet as mx

    from . import _lib

    _lib.load()
    loaded = mx.nd.load(params_file)
    params = {k.split(":", 1)[1]: v for k, v in loaded.items() if ":" in k}
    sym = mx.sym.load(sym_file)
    params["data"] = mx.nd.array(batch)
    out = mx.nd.CachedOp(sym)(*[params[n] for n in sym.list_inputs()])
    return (out[0] if isinstance(out, (list, tuple)) else out).asnumpy()


def _cmd_benchmark(args):
    """`bmxnet benchmark`: bad input (a missing or unreadable model, a shape it does not
    take) is one line and status 2."""
    from .benchmark import benchmark, format_report
    from .runtime import BMXRuntimeError

    expected = (FileNotFoundError, ValueError, OSError, BMXRuntimeError)
    try:
        report = benchmark(args.prefix, input_shape=args.input_shape, threads=args.threads,
                           warmup=args.warmup, runs=args.runs, min_seconds=args.min_seconds,
                           profile=args.profile, mxnet=args.mxnet, float_model=args.float,
                           epoch=args.epoch, float_twin=args.float_twin,
                           calibrate=args.calibrate)
    except Exception as e:
        mxnet_base = sys.modules.get("mxnet.base")
        if not isinstance(e, expected + ((mxnet_base.MXNetError,) if mxnet_base else ())):
            raise
        first_line = (str(e).strip().splitlines() or [repr(e)])[0]  # MXNet's run to pages
        print(f"bmxnet benchmark: error: {first_line}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0


def _cmd_launch(args, rest):
    from .launch import launch

    return launch(rest)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # The docstring is reStructuredText; the terminal shows `x`, not ``x``.
    parser = argparse.ArgumentParser(prog="bmxnet", description=__doc__.replace("``", "`"),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{summary,predict,benchmark,launch}")

    p = sub.add_parser("summary", help="per-layer parameters, memory and MACs of a model",
                       description="Per-layer parameters (binary / float), memory and MACs.",
                       epilog=_SUMMARY_EXAMPLES, formatter_class=_RAW)
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("--input-shape", type=shape, default=None,
                   help="e.g. 1,3,224,224 (default: the shape recorded at export)")
    p.add_argument("--epoch", type=int_range(0, 9999), default=None,
                   help="params epoch (default: latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--runtime", action="store_true",
                   help="the plan libbmx_runtime makes for a converted model (no MXNet)")

    p = sub.add_parser("predict", help="classify images (or .npy arrays) with a model",
                       description="Classifies images or .npy arrays with an exported or "
                                   "converted model.",
                       epilog=_PREDICT_EXAMPLES, formatter_class=_RAW)
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("inputs", nargs="+",
                   help="images (PNG, JPEG, PGM/PPM, ...), .npy arrays or raw float32 files "
                        "(one sample or a batch; every sample is classified), made the model's "
                        "input as bmx_run makes them")
    p.add_argument("--input-shape", type=shape, default=None,
                   help="N,C,H,W the model expects (default: the shape recorded at export); "
                        "images are resized to it and converted to its channels")
    p.add_argument("--epoch", type=int_range(0, 9999), default=None)
    p.add_argument("--mean", type=_floats, default=None,
                   help="per-channel mean subtracted after scaling pixels to [0, 1]")
    p.add_argument("--std", type=_floats, default=None, help="per-channel std divided by")
    p.add_argument("--top", type=int_range(1), default=5, help="classes shown per input")
    p.add_argument("--labels", default=None, help="text file with one class name per line")
    p.add_argument("--softmax", action="store_true", help="print probabilities, not scores")
    p.add_argument("--runtime", action="store_true",
                   help="run a converted model through libbmx_runtime instead of MXNet")
    p.add_argument("--threads", type=int_range(1), default=None,
                   help="with --runtime: kernel threads (default: OMP_NUM_THREADS, else all)")

    p = sub.add_parser("benchmark", help="how fast a model runs here, and where the time goes",
                       description="Times a model on this machine: a converted model through "
                                   "libbmx_runtime (without MXNet); with --mxnet also through "
                                   "MXNet + the op library, with --float a float model through "
                                   "MXNet, side by side with the ratios. A model that is not "
                                   "converted runs through MXNet only.",
                       epilog=_BENCHMARK_EXAMPLES, formatter_class=_RAW)
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("--input-shape", type=shape, default=None,
                   help="N,C,H,W (default: the shape recorded at export or conversion)")
    p.add_argument("--epoch", type=int_range(0, 9999), default=None)
    p.add_argument("--threads", type=int_range(1), default=None,
                   help="kernel threads (default: OMP_NUM_THREADS, else all hardware threads)")
    p.add_argument("--warmup", type=int_range(0), default=3, help="untimed calls first")
    p.add_argument("--runs", type=int_range(1), default=10,
                   help="timed calls per side, at least (default 10)")
    p.add_argument("--min-seconds", type=_nonnegative, default=1.0,
                   help="keep timing until this many seconds have passed (default 1)")
    p.add_argument("--profile", action="store_true",
                   help="the runtime's per-layer table and totals per kind")
    p.add_argument("--mxnet", action="store_true",
                   help="also time the same files through MXNet + the op library")
    p.add_argument("--float", metavar="FLOAT_MODEL", default=None,
                   help="also time this float model through MXNet: a float network of the same "
                        "shape, or the unconverted export (a training graph, which MXNet runs "
                        "far slower than a float network)")
    p.add_argument("--float-twin", metavar="TWIN", default=None,
                   help="also time the float twin through the runtime: the same network with "
                        "every binary layer in float32 (built with bits=32, bits_a=32, "
                        "exported, converted), and print the predicted and measured speed-up")
    p.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                   help="with --float-twin: predict from the stated throughput table instead "
                        "of a one-second calibration on this machine")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("launch", add_help=False,
                   help="distributed training with MXNet's parameter server; see "
                        "`bmxnet launch --help`")
    one_line_errors(parser)

    if argv[:1] == ["launch"]:
        return _cmd_launch(None, argv[1:])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "benchmark":
        return _cmd_benchmark(args)
    if args.command == "predict" and args.threads is not None and not args.runtime:
        parser.error("--threads applies to --runtime only (MXNet reads OMP_NUM_THREADS)")
    if args.command == "predict" and args.input_shape is not None and len(args.input_shape) != 4:
        dims = ",".join(str(d) for d in args.input_shape)
        parser.error(f"--input-shape {dims} is not N,C,H,W: bmxnet predict classifies images "
                     f"(one 28x28 gray image is 1,1,28,28)")
    from . import HAVE_MXNET
    from .runtime import BMXRuntimeError

    expected = (FileNotFoundError, ValueError, OSError, BMXRuntimeError)
    if not args.runtime and not HAVE_MXNET:
        print(f"bmxnet {args.command}: error: MXNet is not installed; pass --runtime to use "
              "libbmx_runtime with a converted model, or install mxnet==1.9.1", file=sys.stderr)
        return 1
    if not args.runtime:
        from mxnet.base import MXNetError

        expected += (MXNetError,)
    from .input_file import InputFileError

    try:
        return {"summary": _cmd_summary, "predict": _cmd_predict}[args.command](args)
    except InputFileError as e:  # bad input from the user: a usage error, as in bmx_run
        print(f"bmxnet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except expected as e:
        print(f"bmxnet {args.command}: error: {e}", file=sys.stderr)
        return 1


def _nonnegative(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds, 0 or more, got {text!r}")
    return value


_RAW = argparse.RawDescriptionHelpFormatter
_BENCHMARK_EXAMPLES = """examples:
  bmxnet benchmark out/mnist/binarized_binary_lenet --profile
  bmxnet benchmark out/imagenet/binarized_resnet18 --threads 1 --mxnet --float out/imagenet/resnet18
  bmxnet benchmark model --input-shape 1,3,224,224 --json
  bmxnet benchmark out/binarized_resnet18 --threads 1 --float-twin out/binarized_resnet18_float
"""
_SUMMARY_EXAMPLES = """examples:
  bmxnet summary out/mnist/binarized_binary_lenet
  bmxnet summary out/cifar10/binary_resnet18_cifar --json
  bmxnet summary old_model --input-shape 1,3,32,32    # a model exported without its shape
"""
_PREDICT_EXAMPLES = """examples:
  bmxnet predict out/mnist/binarized_binary_lenet digit.png
  bmxnet predict out/mnist/binarized_binary_lenet batch.npy --top 3 --softmax
  bmxnet predict model cat.jpg --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --labels names.txt
"""


if __name__ == "__main__":
    sys.exit(main())
