"""The ``bmxnet`` command.

    bmxnet summary PREFIX [--input-shape 1,3,224,224] [--epoch N] [--json]
    bmxnet predict PREFIX IMAGE... [--input-shape ...] [--top 5] [--labels FILE]
    bmxnet launch -n 2 -s 1 --launcher local python examples/mnist/train.py --kvstore dist_sync

PREFIX is an exported or converted model: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params``
(the latest epoch unless --epoch); a path to either file works too.
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


def _floats(text):
    return tuple(float(v) for v in text.split(","))


def _cmd_summary(args):
    from .summary import summary

    result = summary(args.prefix, input_shape=args.input_shape, epoch=args.epoch)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.format())
    return 0


def _load_input(path, shape, mean, std):
    """One input (C, H, W) float32 from an image or a .npy file, as the model expects it."""
    import numpy as np

    if path.endswith(".npy"):
        x = np.load(path).astype(np.float32)
        if x.ndim == len(shape):
            x = x[0]
        return x.reshape(shape[1:])
    import mxnet as mx

    channels, height, width = shape[1:]
    with open(path, "rb") as f:
        buf = f.read()
    try:
        img = mx.image.imdecode(buf, flag=1 if channels == 3 else 0)
    except Exception:
        raise ValueError(f"{path}: not an image MXNet can decode (or pass a .npy array)") from None
    img = mx.image.imresize(img, width, height).asnumpy().astype(np.float32) / 255.0
    img = img.transpose((2, 0, 1))
    if mean:
        img -= np.asarray(mean, np.float32).reshape(-1, 1, 1)
    if std:
        img /= np.asarray(std, np.float32).reshape(-1, 1, 1)
    return img


def _cmd_predict(args):
    import numpy as np
    import mxnet as mx

    from . import _lib
    from .summary import _guess_input_shape, resolve_prefix

    _lib.load()
    sym_file, params_file = resolve_prefix(args.prefix, args.epoch)
    loaded = mx.nd.load(params_file)
    arg_params = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
    aux_params = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
    shape = args.input_shape
    if shape is None:
        shape = _guess_input_shape(json.load(open(sym_file)),
                                   {k: v.shape for k, v in arg_params.items()}, "data")
        print(f"input shape {shape} (assumed; pass --input-shape)", file=sys.stderr)
    if len(shape) != 4:
        raise ValueError(f"--input-shape must be N,C,H,W for images, got {shape}")
    labels = None
    if args.labels:
        labels = [line.strip() for line in open(args.labels) if line.strip()]
    batch = np.stack([_load_input(p, shape, args.mean, args.std) for p in args.inputs])
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
    out = exe.forward(is_train=False)[0].asnumpy()
    if args.softmax:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    for path, scores in zip(args.inputs, out):
        top = np.argsort(-scores)[:args.top]
        ranked = ", ".join(f"{labels[i] if labels and i < len(labels) else i} "
                           f"({scores[i]:.3f})" for i in top)
        print(f"{path}: {ranked}")
    return 0


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

    sub.add_parser("launch", add_help=False,
                   help="distributed training with MXNet's launcher (mxnet/tools/launch.py); "
                        "all arguments are passed on, see `bmxnet launch --help`")

    if argv[:1] == ["launch"]:
        return _cmd_launch(None, argv[1:])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    from mxnet.base import MXNetError

    try:
        return {"summary": _cmd_summary, "predict": _cmd_predict}[args.command](args)
    except (FileNotFoundError, ValueError, OSError, MXNetError) as e:
        print(f"bmxnet {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
