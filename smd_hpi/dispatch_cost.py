"""What one MXNet operator call costs besides its kernel, with warm and with cold caches.

    python smd_hpi/dispatch_cost.py [--threads 1] [--calls 1500]

Prints, per batch-8 ResNet-18 conv layer, the median time of a hybridized one-op block that
does almost nothing (relu of a 8x64x2x2 input: MXNet's and Gluon's dispatch alone) when it
follows itself (warm caches), when it follows one of our binary convs (which streams megabytes
of input and output through L2), and when it follows a 5 MB memory sweep; and the conv call's
own median. The difference is a serial cost per call that no number of threads shortens, which
caps the thread scaling an operator can show through MXNet (smd_hpi/REPORT.md, section 3b).
"""
import argparse
import gc
import os
import statistics
import time


def _positive(text):
    # As benchmark.py's, which cannot be imported before parsing: importing bmxnet starts
    # MXNet, which reads OMP_NUM_THREADS (set from --threads) only then.
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=_positive, default=1, help="OMP_NUM_THREADS (default 1)")
    parser.add_argument("--calls", type=_positive, default=1500, help="calls per figure (median)")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    import numpy as np
    import mxnet as mx
    import bmxnet  # noqa: F401  (loads the ops)
    import benchmark as B  # smd_hpi/benchmark.py, beside this script

    rng = np.random.RandomState(0)
    small = mx.nd.array(rng.randn(8, 64, 2, 2).astype(np.float32))
    probe = B._call(B._block(lambda F, x, w: F.relu(x), [mx.nd.zeros((4,))]), small)
    sweep = np.zeros(5_000_000 // 8)
    gc.disable()

    def median_us(before, fn):
        samples = []
        for _ in range(args.calls):
            before()
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return 1e6 * statistics.median(samples)

    def nothing():
        pass

    def touch():
        sweep.__iadd__(1.0)

    print(f"OMP_NUM_THREADS={args.threads}, {os.environ['MXNET_ENGINE_TYPE']}, median of "
          f"{args.calls} calls (us)")
    print(f"{'layer (batch 8)':<28} {'conv':>8} {'dispatch':>9} {'after conv':>11} "
          f"{'after 5 MB':>11}")
    for name, c, o, h, stride in B.CONV_SHAPES:
        x = mx.nd.array(rng.randn(8, c, h, h).astype(np.float32))
        packed = mx.nd.bmx_bitpack(mx.nd.array(rng.randn(o, c, 3, 3).astype(np.float32))
                                   .transpose((0, 2, 3, 1)))
        kw = dict(kernel=(3, 3), stride=(stride, stride), pad=(1, 1), num_filter=o, no_bias=True)
        conv = B._call(B._block(lambda F, x, w: F.bmx_binary_conv2d(x, w, pad_value=-1, **kw),
                                [packed]), x)
        for _ in range(5):
            conv()
            probe()
        conv_us = median_us(nothing, conv)
        warm = median_us(nothing, probe)
        after_conv = median_us(conv, probe)
        after_sweep = median_us(touch, probe)
        print(f"{name:<28} {conv_us:>8.0f} {warm:>9.0f} {after_conv:>11.0f} {after_sweep:>11.0f}",
              flush=True)
    gc.enable()


if __name__ == "__main__":
    main()
