#!/usr/bin/env python
"""Training speed on the CPU: a binary model against the same architecture in float (a
benchmark, not a test).

One training step (forward, backward, ``trainer.step`` with Adam, then ``mx.nd.waitall``) of a
zoo model as training builds it (``bmxnet.model_zoo.get_model(name)``: 1-bit weights and
activations through the quantizers) against the same model with ``bits=32, bits_a=32`` (the
quantizers left out, everything else equal), both ``hybridize(static_alloc=True)``, on the
same random batch:

* ``binary_lenet``: 1x28x28, batch 64, 10 classes;
* ``binary_resnet18_v1``: 3x64x64, batch 16, 1000 classes.

--pad-value 0 gives the binary side's convolutions a zero border instead of the model's -1:
Convolution then pads by itself and skips the border's products, where a -1 border takes a
Pad operator and a convolution over the whole padded input (on small maps, such as ResNet-18's
16x16 to 2x2 at 64x64 input, the border holds a good share of the products); comparing the two
runs shows what the -1 border costs.

Each model runs in its own process with OMP_NUM_THREADS=--threads (default 1) and MXNet's
default engine. The two sides are stepped alternately in that process: --rounds rounds of one
untimed step and --steps timed steps per side (the order flips every round), so that drift in
the machine's speed hits both alike; the figures are medians over the timed steps, of wall time
and (last columns) of the process's CPU time, which leaves out waits for a core on a shared
machine. The target, reported and not enforced: binary at most 1.15x the float step time.

--profile: then, side by side, where each side's step time goes, from MXNet's profiler
(aggregate stats of the operators, symbolic and imperative, over --profile-steps steps per
side, the sides again taking turns in runs of --steps), per operator name in ms per step, with
the binary side's extra time per operator. Nothing here names the quantizers' operators:
whichever the model uses show up.

    python smd_hpi/train_step_bench.py --threads 1 --profile --json out/bench/train_step.json \\
        --png out/bench/train_step.png
    python smd_hpi/train_step_bench.py --pad-value 0 --profile     # without the -1 border
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from bmxnet.argtypes import int_range, one_line_errors

TARGET = 1.15  # binary step time / float step time
MODELS = {"binary_lenet": dict(shape=(64, 1, 28, 28), classes=10),
          "binary_resnet18_v1": dict(shape=(16, 3, 64, 64), classes=1000)}
SIDES = ("binary", "float")


# ---- measuring (child) ---------------------------------------------------------------------

def _trainer_step(name, binary, pad_value=None, signs="library", seed=0):
    """A function running one training step of `name` (binary, or with bits=32, bits_a=32);
    `pad_value`, when given, is the binary convolutions' border value; `signs` the sign ops
    ("library": the op library's, as CPU training builds them; "stock": stock MXNet ops, as
    training on GPUs does)."""
    import mxnet as mx
    import numpy as np
    from mxnet import autograd, gluon

    from bmxnet import model_zoo, ste_sign

    spec = MODELS[name]
    mx.random.seed(seed)
    rng = np.random.RandomState(seed)
    x = mx.nd.array(rng.uniform(-1, 1, spec["shape"]))
    y = mx.nd.array(rng.randint(0, spec["classes"], spec["shape"][0]))
    options = {} if binary else dict(bits=32, bits_a=32)
    if binary and pad_value is not None:
        options["pad_value"] = pad_value
    with ste_sign.library_ops(signs == "library"):
        net = model_zoo.get_model(name, classes=spec["classes"], **options)
    net.initialize(mx.init.Xavier(magnitude=2.0))
    net.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    batch = spec["shape"][0]

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(batch)
        mx.nd.waitall()  # the updates done: the next step starts from an idle engine
    return step


def _turns(sides, rounds):
    """The order of the sides in each round: flipped every round, so that neither side
    always follows the other."""
    for r in range(rounds):
        yield sides if r % 2 == 0 else sides[::-1]


def _alternating(steps_of, rounds, steps, warmup):
    """Wall and CPU seconds of each timed step per side, the sides taking turns (see the
    module doc). CPU time (the process's, all its threads) leaves out the time the process
    waited for a core, which wall time counts when other work shares the machine."""
    for step in steps_of.values():
        for _ in range(warmup):
            step()
    wall = {side: [] for side in steps_of}
    cpu = {side: [] for side in steps_of}
    for order in _turns(list(steps_of), rounds):
        for side in order:
            step = steps_of[side]
            step()  # untimed: this side's weights and buffers back in the caches
            for _ in range(steps):
                start, start_cpu = time.perf_counter(), time.process_time()
                step()
                wall[side].append(time.perf_counter() - start)
                cpu[side].append(time.process_time() - start_cpu)
    return wall, cpu


def _profile(steps_of, count, chunk, dump_file):
    """{side: {"ops_ms": {operator name: ms per step}, "wall_ms": ms per step}} over `count`
    steps per side, from MXNet's aggregate profiler stats; the sides take turns in runs of
    `chunk` steps, as in the timing, and each run's stats are added up."""
    import mxnet as mx

    mx.profiler.set_config(aggregate_stats=True, profile_symbolic=True,
                           profile_imperative=True, profile_memory=False, profile_api=False,
                           filename=dump_file)
    mx.profiler.dumps(reset=True)  # drop anything collected before
    result = {side: {"ops_ms": {}, "wall_ms": 0.0, "steps": 0} for side in steps_of}
    rounds = -(-count // chunk)
    for order in _turns(list(steps_of), rounds):
        for side in order:
            n = min(chunk, count - result[side]["steps"])
            mx.profiler.set_state("run")
            start = time.perf_counter()
            for _ in range(n):
                steps_of[side]()
            result[side]["wall_ms"] += 1e3 * (time.perf_counter() - start)
            mx.profiler.set_state("stop")
            stats = json.loads(mx.profiler.dumps(reset=True, format="json"))
            for name, entry in stats.get("Time", {}).get("operator", {}).items():
                ops = result[side]["ops_ms"]
                ops[name] = ops.get(name, 0.0) + entry["Total"]
            result[side]["steps"] += n
    for side in result.values():
        side["ops_ms"] = {name: total / side["steps"] for name, total in side["ops_ms"].items()}
        side["wall_ms"] /= side["steps"]
    return result


def child(args):
    """Times (and profiles) one model at OMP_NUM_THREADS threads; prints one JSON object."""
    import bmxnet  # noqa: F401  (registers the plugin's operators)

    name = args.child_model
    steps_of = {side: _trainer_step(name, side == "binary", args.pad_value, args.signs)
                for side in SIDES}
    wall, cpu = _alternating(steps_of, args.rounds, args.steps, args.warmup)
    spec = MODELS[name]
    row = {"model": name, "shape": list(spec["shape"]), "classes": spec["classes"],
           "threads": int(os.environ.get("OMP_NUM_THREADS", "0")),
           "binary_pad_value": args.pad_value, "signs": args.signs, "step_s": wall, "median_s": {s: statistics.median(t) for s, t in wall.items()},
           "cpu_step_s": cpu, "cpu_median_s": {s: statistics.median(t) for s, t in cpu.items()}}
    if args.profile:
        with tempfile.TemporaryDirectory(prefix="bmx_train_profile_") as tmp:
            row["profile"] = _profile(steps_of, args.profile_steps, args.steps,
                                      os.path.join(tmp, "profile.json"))
        row["profile_steps"] = args.profile_steps
    print(json.dumps(row))
    return 0


# ---- report (parent) -----------------------------------------------------------------------

def _ratio(row):
    return row["median_s"]["binary"] / row["median_s"]["float"]


def _columns(head, body):
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths))).rstrip() for r in [head] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def table(rows):
    head = ("model", "input x batch", "binary ms/step", "float ms/step", "binary img/s",
            "float img/s", "binary/float", "target", "CPU ms/step b | f", "CPU b/f")
    body = []
    for r in rows:
        b, f = r["median_s"]["binary"], r["median_s"]["float"]
        cb, cf = r["cpu_median_s"]["binary"], r["cpu_median_s"]["float"]
        batch = r["shape"][0]
        ratio = _ratio(r)
        body.append((r["model"], f"{'x'.join(map(str, r['shape'][1:]))} x {batch}",
                     f"{1e3 * b:.2f}", f"{1e3 * f:.2f}", f"{batch / b:.1f}", f"{batch / f:.1f}",
                     f"{ratio:.3f}x", f"<= {TARGET}x {'met' if ratio <= TARGET else 'MISSED'}",
                     f"{1e3 * cb:.2f} | {1e3 * cf:.2f}", f"{cb / cf:.3f}x"))
    return _columns(head, body)


def profile_table(row, top):
    """The `top` operators by binary-side time, both sides' ms/step and the binary extra."""
    prof = row["profile"]
    b, f = prof["binary"]["ops_ms"], prof["float"]["ops_ms"]
    names = sorted(set(b) | set(f), key=lambda n: (-b.get(n, 0.0), -f.get(n, 0.0), n))
    head = ("operator", "binary ms/step", "float ms/step", "binary extra")
    body = [(n, f"{b.get(n, 0.0):.3f}", f"{f.get(n, 0.0):.3f}",
             f"{b.get(n, 0.0) - f.get(n, 0.0):+.3f}") for n in names[:top]]
    rest = names[top:]
    if rest:
        rb, rf = sum(b.get(n, 0.0) for n in rest), sum(f.get(n, 0.0) for n in rest)
        body.append((f"({len(rest)} more)", f"{rb:.3f}", f"{rf:.3f}", f"{rb - rf:+.3f}"))
    sb, sf = sum(b.values()), sum(f.values())
    body.append(("all operators", f"{sb:.3f}", f"{sf:.3f}", f"{sb - sf:+.3f}"))
    wb, wf = prof["binary"]["wall_ms"], prof["float"]["wall_ms"]
    body.append(("step, wall (profiled)", f"{wb:.3f}", f"{wf:.3f}", f"{wb - wf:+.3f}"))
    extra = sorted(((b.get(n, 0.0) - f.get(n, 0.0), n) for n in names), reverse=True)
    movers = ", ".join(f"{n} {d:+.2f}" for d, n in extra[:5] if d > 0)
    return (f"{row['model']}: operator time per step over {row['profile_steps']} profiled "
            f"steps per side\n{_columns(head, body)}\nlargest binary extras (ms/step): "
            f"{movers or 'none'}")


def plot(rows, path, top):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    profiled = [r for r in rows if "profile" in r]
    fig, axes = plt.subplots(1, 1 + len(profiled), figsize=(4.5 + 5 * len(profiled), 3.8),
                             squeeze=False)
    ax = axes[0][0]
    ratios = [_ratio(r) for r in rows]
    bars = ax.bar(range(len(rows)), ratios,
                  color=["tab:green" if v <= TARGET else "tab:red" for v in ratios])
    ax.bar_label(bars, labels=[f"{v:.2f}x\n{1e3 * r['median_s']['binary']:.1f} vs "
                               f"{1e3 * r['median_s']['float']:.1f} ms"
                               for v, r in zip(ratios, rows)], fontsize=8)
    ax.axhline(TARGET, color="black", linestyle="--", linewidth=1, label=f"target {TARGET}x")
    ax.axhline(1.0, color="gray", linewidth=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([f"{r['model']}\n{'x'.join(map(str, r['shape'][1:]))}, batch "
                        f"{r['shape'][0]}" for r in rows], fontsize=8)
    ax.set_ylabel("step time, binary / float")
    ax.set_ylim(0, 1.45 * max(ratios + [TARGET]))
    ax.set_title(f"training step, {rows[0]['threads']} thread(s)", fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    for ax, r in zip(axes[0][1:], profiled):
        b, f = r["profile"]["binary"]["ops_ms"], r["profile"]["float"]["ops_ms"]
        names = sorted(set(b) | set(f), key=lambda n: -b.get(n, 0.0))[:top][::-1]
        ys = range(len(names))
        ax.barh([y + 0.2 for y in ys], [b.get(n, 0.0) for n in names], 0.4, label="binary",
                color="tab:blue")
        ax.barh([y - 0.2 for y in ys], [f.get(n, 0.0) for n in names], 0.4, label="float",
                color="tab:orange")
        ax.set_yticks(list(ys))
        ax.set_yticklabels(names, fontsize=7)
        ax.set_xlabel("ms per step (MXNet profiler)")
        ax.set_title(f"{r['model']}: top operators", fontsize=9)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = one_line_errors(argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="NAME", help=f"any of: {', '.join(MODELS)} (default: both)")
    parser.add_argument("--threads", type=int_range(1), default=1, help="OMP_NUM_THREADS")
    parser.add_argument("--rounds", type=int_range(1), default=15,
                        help="rounds of alternation (each: every side's --steps timed steps)")
    parser.add_argument("--steps", type=int_range(1), default=3,
                        help="timed steps per side per round")
    parser.add_argument("--warmup", type=int_range(0), default=3,
                        help="untimed steps per side before the first round")
    parser.add_argument("--pad-value", type=int, choices=(-1, 0, 1), default=None,
                        help="the binary side's convolution border value (default: the "
                             "model's, -1); 0 lets Convolution pad by itself, without a Pad "
                             "operator and without computing the border")
    parser.add_argument("--signs", choices=("library", "stock"), default="library",
                        help="the binary side's sign ops: 'library' (default), the op "
                             "library's, as the training scripts build them on CPUs; 'stock', "
                             "stock MXNet ops, as they build them for GPUs")
    parser.add_argument("--profile", action="store_true",
                        help="also attribute each side's step time to operators")
    parser.add_argument("--profile-steps", type=int_range(1), default=10,
                        help="steps profiled per side")
    parser.add_argument("--top", type=int_range(1), default=12,
                        help="operators listed per model in the profile")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--png", default=None, help="plot the ratios (and profiles) here")
    parser.add_argument("--child-model", choices=list(MODELS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_model:
        return child(args)

    from tqdm import tqdm

    rows = []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    forwarded = ["--rounds", str(args.rounds), "--steps", str(args.steps), "--warmup",
                 str(args.warmup), "--profile-steps", str(args.profile_steps)]
    forwarded += ["--profile"] if args.profile else []
    forwarded += ["--signs", args.signs]
    forwarded += ["--pad-value", str(args.pad_value)] if args.pad_value is not None else []
    for name in tqdm(args.models, desc="models", unit="model", leave=False, disable=None):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child-model", name,
                               *forwarded], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            print(f"train_step_bench: the {name} run failed", file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    pad = "" if args.pad_value is None else f" (pad_value={args.pad_value})"
    print(f"one training step (forward + backward + Adam), binary{pad} vs bits=32 bits_a=32, "
          f"{args.threads} thread(s); medians of {args.rounds * args.steps} steps per side")
    print(table(rows))
    for row in rows:
        if "profile" in row:
            print()
            print(profile_table(row, args.top))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "target": TARGET, "rounds": args.rounds,
                       "binary_pad_value": args.pad_value,
                       "steps": args.steps, "threads": args.threads,
                       "cpus": os.cpu_count(),
                       "machine": platform.processor() or platform.machine()}, f, indent=1)
    if args.png:
        os.makedirs(os.path.dirname(os.path.abspath(args.png)), exist_ok=True)
        plot(rows, args.png, min(args.top, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
