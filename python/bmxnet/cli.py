"""The ``bmxnet`` command.

    bmxnet summary PREFIX [--input-shape 1,3,224,224] [--epoch N] [--json] [--runtime]
    bmxnet predict PREFIX IMAGE... [--input-shape ...] [--top 5] [--labels FILE] [--runtime]
    bmxnet launch -n 2 -s 1 --launcher local python examples/mnist/train.py --kvstore dist_sync

PREFIX is an exported or converted model: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params``
(the latest epoch unless --epoch); a path to either file works too.

--runtime runs a converted model through libbmx_runtime instead of MXNet (predict), or shows
the plan the runtime makes for it (summary): ops, kernels, output shapes, arena and weight
bytes, instruction set and float backend. Neither imports MXNet.
"""
import argparse
import json
import os
import sys

__all__ = ["main"]


def _shape(text):
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"expected positive dimensions, got {text!r}")
    return shape


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _floats(text):
    return tuple(float(v) for v in text.split(","))


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
    note = "" if args.input_shape else " (assumed; pass --input-shape)"
    print("\n".join([f"{pred.symbol_file} through libbmx_runtime: input "
                     f"{_shape(pred.input_shape)}{note}", rule, line(head), rule]
                    + [line(row) for row in body] + [rule, line(total), rule]))
    print(f"Arena: {_bytes(plan['arena_bytes'])} (activations, reused across layers); "
          f"weights: {_bytes(plan['weight_bytes'])}")
    print(f"Kernels: {plan['isa']} (binary), {plan['float_backend']} (float)")
    return 0


def _decode_image(path, channels, height, width):
    """(H, W, C) uint8 pixels resized to height x width: MXNet's decoder when MXNet is there
    (what `bmxnet predict` always used), else Pillow's."""
    import numpy as np

    from . import HAVE_MXNET

    with open(path, "rb") as f:
        buf = f.read()
    if HAVE_MXNET:
        import mxnet as mx

        try:
            img = mx.image.imdecode(buf, flag=1 if channels == 3 else 0)
        except Exception:
            raise ValueError(f"{path}: not an image MXNet can decode "
                             "(or pass a .npy array)") from None
        return mx.image.imresize(img, width, height).asnumpy()
    try:
        from PIL import Image
    except ImportError:
        raise ValueError(f"{path}: decoding images without MXNet needs Pillow "
                         "(pip install pillow); or pass a .npy array") from None
    import io

    try:
        img = Image.open(io.BytesIO(buf))
        img = img.convert("RGB" if channels == 3 else "L").resize((width, height),
                                                                 Image.BILINEAR)
    except Exception:
        raise ValueError(f"{path}: not an image Pillow can decode "
                         "(or pass a .npy array)") from None
    return np.asarray(img).reshape(height, width, -1)


def _load_input(path, shape, mean, std):
    """One input (C, H, W) float32 from an image or a .npy file, as the model expects it."""
    import numpy as np

    if path.endswith(".npy"):
        x = np.load(path).astype(np.float32)
        if x.ndim == len(shape):
            x = x[0]
        if x.size != int(np.prod(shape[1:])):
            raise ValueError(f"{path}: array of shape {x.shape} does not fit the input "
                             f"{tuple(shape[1:])} (pass --input-shape)")
        return x.reshape(shape[1:])
    channels, height, width = shape[1:]
    img = _decode_image(path, channels, height, width).astype(np.float32) / 255.0
    img = img.transpose((2, 0, 1))
    if mean:
        img -= np.asarray(mean, np.float32).reshape(-1, 1, 1)
    if std:
        img /= np.asarray(std, np.float32).reshape(-1, 1, 1)
    return img


def _cmd_predict(args):
    import numpy as np

    from .summary import resolve_prefix

    sym_file, params_file = resolve_prefix(args.prefix, args.epoch)
    shape = args.input_shape
    if shape is None:
        from .runtime import _guess_input_shape

        shape = _guess_input_shape(sym_file, params_file)
        print(f"input shape {shape} (assumed; pass --input-shape)", file=sys.stderr)
    if len(shape) != 4:
        raise ValueError(f"--input-shape must be N,C,H,W for images, got {shape}")
    labels = None
    if args.labels:
        labels = [line.strip() for line in open(args.labels) if line.strip()]
    batch = np.stack([_load_input(p, shape, args.mean, args.std) for p in args.inputs])
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
    for path, scores in zip(args.inputs, out):
        top = np.argsort(-scores)[:args.top]
        ranked = ", ".join(f"{labels[i] if labels and i < len(labels) else i} "
                           f"({scores[i]:.3f})" for i in top)
        print(f"{path}: {ranked}")
    return 0


def _mxnet_outputs(sym_file, params_file, batch):
    """The model's first output for `batch` through MXNet's executor with the bmx_ ops."""
    import mxnet as mx

    from . import _lib

    _lib.load()
    loaded = mx.nd.load(params_file)
    arg_params = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
    aux_params = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
    sym = mx.sym.load(sym_file)
    arg_params["data"] = mx.nd.array(batch)
    # Run the graph as trained: MXNet's oneDNN graph fusion folds a BatchNorm into the
    # convolution before it, which moves values that sit exactly at a sign's threshold.
    saved = os.environ.get("MXNET_SUBGRAPH_BACKEND")
    os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
    try:
        exe = sym.bind(mx.cpu(), arg_params, aux_states=aux_params, grad_req="null")
    finally:
        if saved is None:
            del os.environ["MXNET_SUBGRAPH_BACKEND"]
    return exe.forward(is_train=False)[0].asnumpy()


def _cmd_launch(args, rest):
    from .training import launch

    return launch(rest)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="bmxnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{summary,predict,launch}")

    p = sub.add_parser("summary", help="per-layer parameters, memory and MACs of a model")
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("--input-shape", type=_shape, default=None,
                   help="e.g. 1,3,224,224 (default: guessed from the first layer)")
    p.add_argument("--epoch", type=int, default=None, help="params epoch (default: latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--runtime", action="store_true",
                   help="the plan libbmx_runtime makes for a converted model (no MXNet)")

    p = sub.add_parser("predict", help="classify images (or .npy arrays) with a model")
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("inputs", nargs="+", help="image files (any format MXNet decodes) or .npy")
    p.add_argument("--input-shape", type=_shape, default=None,
                   help="N,C,H,W the model expects (default: guessed); images are resized")
    p.add_argument("--epoch", type=int, default=None)
    p.add_argument("--mean", type=_floats, default=None,
                   help="per-channel mean subtracted after scaling pixels to [0, 1]")
    p.add_argument("--std", type=_floats, default=None, help="per-channel std divided by")
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--labels", default=None, help="text file with one class name per line")
    p.add_argument("--softmax", action="store_true", help="print probabilities, not scores")
    p.add_argument("--runtime", action="store_true",
                   help="run a converted model through libbmx_runtime instead of MXNet")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="with --runtime: kernel threads (default: OMP_NUM_THREADS, else all)")

    sub.add_parser("launch", add_help=False,
                   help="distributed training with MXNet's launcher (mxnet/tools/launch.py); "
                        "all arguments are passed on, see `bmxnet launch --help`")

    if argv[:1] == ["launch"]:
        return _cmd_launch(None, argv[1:])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "predict" and args.threads is not None and not args.runtime:
        parser.error("--threads applies to --runtime only (MXNet reads OMP_NUM_THREADS)")
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
    try:
        return {"summary": _cmd_summary, "predict": _cmd_predict}[args.command](args)
    except expected as e:
        print(f"bmxnet {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
