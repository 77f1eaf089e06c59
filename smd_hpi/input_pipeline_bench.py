#!/usr/bin/env python
"""The ImageNet example's two input pipelines, images per second (a benchmark, not a test).

``examples/imagenet/train.py --data-backend rec-iter`` (MXNet's C++ ImageRecordIter: JPEG
decoding and augmentation in native threads) against ``--data-backend dataloader``
(ImageRecordDataset + Gluon DataLoader: decoding and gluon-cv's transforms in Python worker
processes), both built by the script's own ``record_loaders`` with its training augmentations
(random resized crop to --input-size, flip, color jitter, lighting, normalization).

The data: --images JPEGs of 500x375 (a quarter of them 375x500), cut at random places, scales
and colors from the real photographs that ship with installed packages (matplotlib's
grace_hopper.jpg, SciPy's raccoon face), or smooth synthetic pictures where neither is there;
in --classes folders, packed by MXNet's own im2rec (``--list --recursive``, then
``--pass-through``), as gluon-cv prepares ImageNet. Nothing is downloaded.

Each --threads count T runs in its own process with OMP_NUM_THREADS=T: the DataLoader gets T
worker processes, ImageRecordIter T preprocess_threads. Both pipelines are built once and read
one warm-up pass, then take turns, one whole pass (an epoch of the training shard, every batch
waited for) each, --passes times; the figure is the median images/s over passes.

    python smd_hpi/input_pipeline_bench.py --threads 1 2 --json out/bench/input_pipeline.json \\
        --png out/bench/input_pipeline.png
"""
import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from bmxnet.argtypes import int_range

BACKENDS = ("rec-iter", "dataloader")
WIDTH, HEIGHT = 500, 375


# ---- data (parent) -------------------------------------------------------------------------

def _photos():
    """Real photographs found in installed packages, as RGB uint8 arrays (maybe none)."""
    import numpy as np

    photos = []
    try:
        import matplotlib
        from PIL import Image

        path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
        photos.append(("matplotlib grace_hopper.jpg", np.asarray(Image.open(path).convert("RGB"))))
    except Exception:
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy.misc.face is deprecated, still shipped
            from scipy import misc

            photos.append(("scipy.misc.face", misc.face()))
    except Exception:
        pass
    return photos


def _synthetic(rng, height, width):
    """A smooth color field with soft blobs, when no photograph is installed."""
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([rng.uniform(40, 200) + rng.uniform(-0.3, 0.3) * yy +
                    rng.uniform(-0.3, 0.3) * xx for _ in range(3)], axis=-1)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(10, 80)
        img += rng.uniform(-90, 90, 3) * np.exp(
            -((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None]
    img += rng.normal(0, 6, img.shape)  # sensor-like grain
    return np.clip(img, 0, 255).astype(np.uint8)


def make_images(root, count, classes, seed=0):
    """`count` JPEGs in root/class_NNN/; returns the sources used."""
    import numpy as np
    from PIL import Image
    from tqdm import tqdm

    rng = np.random.RandomState(seed)
    photos = _photos()
    for c in range(classes):
        os.makedirs(os.path.join(root, f"class_{c:03d}"), exist_ok=True)
    for i in tqdm(range(count), desc="making JPEGs", unit="image", leave=False,
                  disable=None):
        width, height = (WIDTH, HEIGHT) if i % 4 else (HEIGHT, WIDTH)
        if photos:
            src = photos[i % len(photos)][1]
            # a window of the photo with the output's aspect, 40-100 % of the largest one
            scale = rng.uniform(0.4, 1.0) * min(src.shape[0] / height, src.shape[1] / width)
            h, w = int(height * scale), int(width * scale)
            y, x = rng.randint(0, src.shape[0] - h + 1), rng.randint(0, src.shape[1] - w + 1)
            img = Image.fromarray(src[y:y + h, x:x + w]).resize((width, height),
                                                                Image.BILINEAR)
            arr = np.asarray(img).astype(np.float32) * rng.uniform(0.75, 1.25, 3)
            if rng.rand() < 0.5:
                arr = arr[:, ::-1]
            img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        else:
            img = Image.fromarray(_synthetic(rng, height, width))
        img.save(os.path.join(root, f"class_{i % classes:03d}", f"{i:05d}.jpg"),
                 quality=int(rng.randint(85, 96)))
    return [name for name, _ in photos] or ["synthetic"]


def im2rec(prefix, root):
    """prefix.rec/.idx from the images under root, with MXNet's im2rec as a user runs it."""
    for flags in (["--list", "--recursive"], ["--pass-through"]):
        proc = subprocess.run([sys.executable, "-m", "mxnet.tools.im2rec", *flags, prefix, root],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"im2rec {' '.join(flags)} failed: {proc.stderr.strip()}")


# ---- timing (child) ------------------------------------------------------------------------

def _script():
    path = os.path.join(ROOT, "examples", "imagenet", "train.py")
    spec = importlib.util.spec_from_file_location("imagenet_train", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _one_pass(loader):
    """Seconds and images of one whole pass, every batch's data waited for."""
    start, images = time.perf_counter(), 0
    for x, y in loader:
        x.wait_to_read()
        y.wait_to_read()
        images += x.shape[0]
    return time.perf_counter() - start, images


def child(args):
    """Both pipelines at args.child_threads threads; prints one JSON object."""
    import bmxnet  # noqa: F401

    script = _script()
    threads = args.child_threads
    loaders = {}
    for backend in BACKENDS:
        script_args = script.parse_args([
            "--rec-train", args.rec, "--rec-val", args.rec, "--data-backend", backend,
            "--num-data-workers", str(threads), "--batch-size", str(args.batch_size),
            "--input-size", str(args.input_size)])
        loaders[backend] = script.record_loaders(script_args, 0, 1)[0]
        _one_pass(loaders[backend])  # warm-up: worker start, file cache, first allocations
    rates = {b: [] for b in BACKENDS}
    for _ in range(args.passes):
        for backend in BACKENDS:
            seconds, images = _one_pass(loaders[backend])
            rates[backend].append(images / seconds)
    print(json.dumps({"threads": threads, "batches": len(loaders[BACKENDS[0]]),
                      "images_per_s": {b: statistics.median(r) for b, r in rates.items()},
                      "passes": rates}))
    return 0


# ---- report (parent) -----------------------------------------------------------------------

def table(rows):
    head = ("threads", "rec-iter img/s", "dataloader img/s", "rec-iter / dataloader",
            "passes (img/s, rec-iter | dataloader)")
    body = []
    for r in rows:
        ours, theirs = r["images_per_s"]["rec-iter"], r["images_per_s"]["dataloader"]
        spread = " | ".join(", ".join(f"{v:.0f}" for v in r["passes"][b]) for b in BACKENDS)
        body.append((str(r["threads"]), f"{ours:.1f}", f"{theirs:.1f}",
                     f"{ours / theirs:.2f}x", spread))
    widths = [max(len(row[i]) for row in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def plot(rows, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for k, (backend, color) in enumerate(zip(BACKENDS, ("tab:green", "tab:gray"))):
        values = [r["images_per_s"][backend] for r in rows]
        bars = ax.bar(x + (k - 0.5) * 0.38, values, 0.38, label=backend, color=color)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels([f"{r['threads']} thread(s)\nrec-iter "
                        f"{r['images_per_s']['rec-iter'] / r['images_per_s']['dataloader']:.1f}x"
                        for r in rows])
    ax.set_ylabel("training images / s (median pass)")
    ax.set_ylim(0, 1.3 * max(max(r["images_per_s"].values()) for r in rows))
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    from bmxnet.argtypes import one_line_errors

    parser = one_line_errors(argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    parser.add_argument("--threads", type=int_range(1), nargs="+", default=[1, 2],
                        help="decoding threads of ImageRecordIter = DataLoader worker processes")
    parser.add_argument("--images", type=int_range(1), default=512)
    parser.add_argument("--classes", type=int_range(1), default=8)
    parser.add_argument("--batch-size", type=int_range(1), default=64)
    parser.add_argument("--input-size", type=int_range(8), default=224)
    parser.add_argument("--passes", type=int_range(1), default=5,
                        help="timed passes per pipeline (median taken)")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--png", default=None, help="plot images/s here")
    parser.add_argument("--child-threads", type=int_range(1), help=argparse.SUPPRESS)
    parser.add_argument("--rec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_threads:
        return child(args)
    if args.images < args.batch_size:
        parser.error(f"argument --images: {args.images} images make no batch of "
                     f"--batch-size {args.batch_size}")

    from tqdm import tqdm

    rows = []
    with tempfile.TemporaryDirectory(prefix="bmx_input_bench_") as tmp:
        sources = make_images(os.path.join(tmp, "images"), args.images, args.classes)
        rec_prefix = os.path.join(tmp, "train")
        im2rec(rec_prefix, os.path.join(tmp, "images"))
        rec_bytes = os.path.getsize(rec_prefix + ".rec")
        for threads in tqdm(args.threads, desc="thread counts", unit="count",
                            leave=False, disable=None):
            env = dict(os.environ, OMP_NUM_THREADS=str(threads))
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child-threads", str(threads),
                 "--rec", rec_prefix + ".rec", "--batch-size", str(args.batch_size),
                 "--input-size", str(args.input_size), "--passes", str(args.passes)],
                capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                print(f"input_pipeline_bench: the {threads}-thread run failed", file=sys.stderr)
                return 1
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    title = (f"{args.images} JPEGs (~{WIDTH}x{HEIGHT}, {rec_bytes / args.images / 1024:.0f} KiB "
             f"each) -> {args.input_size}x{args.input_size} training batches of "
             f"{args.batch_size}, {os.cpu_count()} CPUs")
    print(title)
    print(table(rows))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "images": args.images, "image_size": [WIDTH, HEIGHT],
                       "sources": sources, "rec_bytes": rec_bytes,
                       "batch_size": args.batch_size, "input_size": args.input_size,
                       "passes": args.passes, "cpus": os.cpu_count(),
                       "machine": platform.processor() or platform.machine()}, f, indent=1)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        plot(rows, args.png, title)
    return 0


if __name__ == "__main__":
    sys.exit(main())
