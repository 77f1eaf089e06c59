"""The ``model-converter`` command."""

import argparse
import sys
from typing import Optional, Sequence

from ..argtypes import shape
from .errors import ConversionError
from .files import input_paths
from .pipeline import convert

_DESCRIPTION = """\
Convert a model trained with bmxnet layers (QConv1D, QConv2D, QDense), with bmxnet.v2 or
with the BMXNet v2 fork, and exported with HybridBlock.export, into a deployable binary model:
every binary layer (each of the M x N convolutions of an ABC-Net layer too) becomes one
bmx_binary_conv2d / bmx_binary_dense op with bit-packed int32 weights, XNOR scaling, BMXNet
v2's offset and a BatchNorm that follow a binary layer are folded into it, and everything else
(float and k-bit layers) stays as it was."""

_EPILOG = """\
examples:
  model-converter model-0000.params
      reads model-symbol.json + model-0000.params, writes
      binarized_model-symbol.json + binarized_model-0000.params beside them
  model-converter model-symbol.json model-0003.params -o deploy/lenet
      writes deploy/lenet-symbol.json + deploy/lenet-0003.params (deploy/ is created)
  model-converter old-0000.params --input-shape 1,3,32,32
      also records the input shape, for a model exported without it
  model-converter model-0000.params --expect-speedup --calibrate
      also prints the share of binary MACs and the speed-up expected over the float twin
      (the same network with every binary layer in float32), measured per-op throughput

Load the result with `import bmxnet` and mx.gluon.SymbolBlock.imports, or from C with
MXLoadLib(libbmxnet_ops.so) and the predict API. Exit status: 0 on success, 1 on bad input."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The `model-converter` command; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="model-converter", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="PREFIX-NNNN.params (PREFIX-symbol.json is found beside it), or "
                             "PREFIX-symbol.json PREFIX-NNNN.params")
    parser.add_argument("-o", "--output", metavar="OUT_PREFIX",
                        help="write OUT_PREFIX-symbol.json and OUT_PREFIX-NNNN.params (same "
                             "epoch) instead of binarized_PREFIX-... beside the input")
    parser.add_argument("--no-fold-bn", dest="fold_bn", action="store_false",
                        help="keep every BatchNorm instead of folding it into the binary op's "
                             "scale and bias (binary layers) or into the weights (float layers)")
    parser.add_argument("--input-shape", type=shape, default=None, metavar="N,C,H,W",
                        help="record this input shape in the converted symbol (default: the "
                             "one recorded at export, if any)")
    parser.add_argument("--expect-speedup", action="store_true",
                        help="print the binary MACs' share and the speed-up expected over the "
                             "float twin (the same network with every binary layer in float32, "
                             "run by libbmx_runtime), from a stated throughput table")
    parser.add_argument("--calibrate", action="store_true",
                        help="with --expect-speedup: measure the throughputs on this machine "
                             "first (about a second) instead of the stated table")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing on success")
    args = parser.parse_args(argv)
    if len(args.files) > 2:
        parser.error("expected PREFIX-NNNN.params, or PREFIX-symbol.json PREFIX-NNNN.params")
    try:
        symbol_path, params_path = input_paths(args.files)
        report = convert(symbol_path, params_path, out_prefix=args.output,
                         verbose=not args.quiet, fold_batchnorm=args.fold_bn,
                         input_shape=args.input_shape)
    except ConversionError as e:
        print(f"model-converter: error: {e}", file=sys.stderr)
        return 1
    if args.expect_speedup or args.calibrate:
        return _print_expectation(report, args.calibrate)
    return 0


def _print_expectation(report, calibrate: bool) -> int:
    """The speed model's prediction for the converted model (bmxnet.speed_model); a model
    without a recorded input shape, or no runtime library here, is one line and status 1."""
    from .. import speed_model
    from ..runtime import BMXRuntimeError

    if report.input_shape is None:
        print("model-converter: error: --expect-speedup needs the input shape; pass "
              "--input-shape N,C,H,W", file=sys.stderr)
        return 1
    try:
        tp = speed_model.calibrate() if calibrate else speed_model.STATED
        print(speed_model.expect_model((report.symbol_out, report.params_out),
                                       report.input_shape, tp).format())
    except (BMXRuntimeError, OSError) as e:
        print(f"model-converter: error: --expect-speedup needs libbmx_runtime: {e}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
