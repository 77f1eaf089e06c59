"""The ``bmxnet`` command.

    bmxnet summary PREFIX [--input-shape 1,3,224,224] [--epoch N] [--json]
    bmxnet predict PREFIX IMAGE... [--input-shape ...] [--top 5] [--labels FILE]
    bmxnet launch -n 2 -s 1 --launcher local python examples/mnist/train.py --kvstore dist_sync

PREFIX is an exported or converted model: ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params``
(the latest epoch unless --epoch); a path to either file works too.
"""
import argparse
import json
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
    from .summary import summary

    result = summary(args.prefix, input_shape=args.input_shape, epoch=args.epoch)
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.format())
    return 0


def _load_inputs(path, shape, mean, std):
    """The samples (N, C, H, W) float32 in one input file: an image (one sample, decoded,
    resized to the model's H x W, pixels / 255, then `mean` / `std`) or a .npy array (one
    sample shaped as the model's input without the batch axis, or a batch of them)."""
    import numpy as np

    if path.endswith(".npy"):
        try:
            x = np.load(path).astype(np.float32)
        except (ValueError, OSError) as e:
            raise ValueError(f"{path}: not a .npy array numpy can read ({e})") from None
        sample = tuple(shape[1:])
        if x.shape == sample:
            return x[None]
        if x.ndim == len(sample) + 1 and x.shape[1:] == sample and len(x):
            return x
        raise ValueError(f"{path}: array of shape {x.shape}; the model takes samples of "
                         f"shape {sample}, so give one of them or a batch (N,) + {sample}")
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
    return img[None]


def _input_shape(args, sym_file, arg_params, what):
    """--input-shape, else the shape recorded at export / conversion, else a guess (said on
    stderr)."""
    from .export import recorded_input_shape
    from .summary import _guess_input_shape

    if args.input_shape is not None:
        return args.input_shape
    with open(sym_file) as f:
        graph = json.load(f)
    shape = recorded_input_shape(graph)
    if shape is None:
        shape = _guess_input_shape(graph, {k: v.shape for k, v in arg_params.items()}, "data")
        print(f"{what}: input shape {shape} guessed: {sym_file} does not record it (exported "
              f"before bmxnet recorded input shapes); pass --input-shape to be sure",
              file=sys.stderr)
    return shape


def _cmd_predict(args):
    import numpy as np
    import mxnet as mx

    from . import _lib
    from .params_io import mismatch_message
    from .summary import resolve_prefix

    _lib.load()
    sym_file, params_file = resolve_prefix(args.prefix, args.epoch)
    loaded = mx.nd.load(params_file)
    params = {k.split(":", 1)[1]: v for k, v in loaded.items() if ":" in k}
    sym = mx.sym.load(sym_file)
    mismatch = mismatch_message(params_file, sym_file, loaded.keys(), sym.list_inputs())
    if mismatch:
        raise ValueError(mismatch)
    shape = _input_shape(args, sym_file, params, "bmxnet predict")
    if len(shape) != 4:
        raise ValueError(f"the model's input shape is {shape}; bmxnet predict classifies "
                         f"images, N,C,H,W (pass --input-shape if this is wrong)")
    labels = None
    if args.labels:
        labels = [line.strip() for line in open(args.labels) if line.strip()]
    names, samples = [], []
    for path in args.inputs:
        batch = _load_inputs(path, shape, args.mean, args.std)
        samples.append(batch)
        names += [path] if len(batch) == 1 and not path.endswith(".npy") else \
            [f"{path}[{i}]" for i in range(len(batch))]
    batch = np.concatenate(samples)
    # The graph runs as trained, op by op through a CachedOp: MXNet's executor would apply
    # oneDNN's graph fusion, which folds a BatchNorm into the convolution before it and so
    # moves values that sit exactly at a sign's threshold.
    params["data"] = mx.nd.array(batch)
    out = mx.nd.CachedOp(sym)(*[params[n] for n in sym.list_inputs()])
    out = (out[0] if isinstance(out, (list, tuple)) else out).asnumpy()
    if args.softmax:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        out = e / e.sum(axis=1, keepdims=True)
    for name, scores in zip(names, out):
        top = np.argsort(-scores)[:args.top]
        ranked = ", ".join(f"{labels[i] if labels and i < len(labels) else i} "
                           f"({scores[i]:.3f})" for i in top)
        print(f"{name}: {ranked}")
    return 0


def _cmd_launch(args, rest):
    from .launch import launch

    return launch(rest)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="bmxnet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{summary,predict,launch}")

    p = sub.add_parser("summary", help="per-layer parameters, memory and MACs of a model",
                       description="Per-layer parameters (binary / float), memory and MACs.",
                       epilog=_SUMMARY_EXAMPLES, formatter_class=_RAW)
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("--input-shape", type=shape, default=None,
                   help="e.g. 1,3,224,224 (default: the shape recorded at export)")
    p.add_argument("--epoch", type=int_range(0, 9999), default=None,
                   help="params epoch (default: latest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("predict", help="classify images (or .npy arrays) with a model",
                       description="Classifies images or .npy arrays with an exported or "
                                   "converted model.",
                       epilog=_PREDICT_EXAMPLES, formatter_class=_RAW)
    p.add_argument("prefix", help="model prefix (or its -symbol.json / -NNNN.params)")
    p.add_argument("inputs", nargs="+",
                   help="image files (any format MXNet decodes) or .npy arrays (one sample or "
                        "a batch; every sample is classified)")
    p.add_argument("--input-shape", type=shape, default=None,
                   help="N,C,H,W the model expects (default: the shape recorded at export); "
                        "images are resized to it")
    p.add_argument("--epoch", type=int_range(0, 9999), default=None)
    p.add_argument("--mean", type=_floats, default=None,
                   help="per-channel mean subtracted after scaling pixels to [0, 1]")
    p.add_argument("--std", type=_floats, default=None, help="per-channel std divided by")
    p.add_argument("--top", type=int_range(1), default=5, help="classes shown per input")
    p.add_argument("--labels", default=None, help="text file with one class name per line")
    p.add_argument("--softmax", action="store_true", help="print probabilities, not scores")

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
    from mxnet.base import MXNetError

    try:
        return {"summary": _cmd_summary, "predict": _cmd_predict}[args.command](args)
    except (FileNotFoundError, ValueError, OSError, MXNetError) as e:
        print(f"bmxnet {args.command}: error: {e}", file=sys.stderr)
        return 1


_RAW = argparse.RawDescriptionHelpFormatter
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
