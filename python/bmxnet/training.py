"""The small training loop shared by the example scripts (examples/*/train.py).

What it gives a script: the common command-line flags (:func:`add_arguments`), the model from
the zoo with the quantization flags applied (:func:`build_model`), the optimizer (adam, sgd,
radam) and learning-rate schedule (step or cosine, with linear warmup), a kvstore for local or
distributed training (``--kvstore dist_sync`` under MXNet's parameter server), the devices
(``--gpus 0,1`` or ``--ctx gpu:0,gpu:1``; :func:`contexts`), and :func:`fit` (data parallel over
the devices): a progress bar per epoch, a log line per epoch, a CSV of metrics and a PNG of
the curves, checkpoints every epoch (``--resume`` continues from one), and the final export
(``PREFIX-symbol.json`` + ``PREFIX-0000.params``) ready for model-converter.

Data are any re-iterable of ``(data, label)`` batches with a length (a Gluon ``DataLoader``, or
:class:`ArrayBatches` for arrays in memory).
"""
import argparse
import csv
import glob
import json
import math
import os
import sys
import time

import numpy as np
import mxnet as mx
from mxnet import autograd, gluon

from . import model_zoo, ste_sign
from .export import export
from .argtypes import float_range, int_list, int_range, one_line_errors

__all__ = ["add_arguments", "parse_args", "ARCHITECTURE_FLAGS", "quant_options", "build_model", "make_scheduler", "make_trainer",
           "create_kvstore", "start", "RAdam", "ArrayBatches", "dummy_arrays", "History", "fit",
           "evaluate", "launch", "contexts", "visible_gpus", "CUDA_WHEEL", "ResumeError",
           "TrainingInterrupted"]


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------

def add_arguments(parser, model="binary_resnet18_cifar", epochs=10, batch_size=128, lr=1e-3,
                  optimizer="adam", lr_mode="cosine", save_dir="out/train", data_dir=None,
                  datasets=("real", "dummy")):
    """Adds the flags every example script shares to an argparse parser."""
    g = parser.add_argument_group("model")
    g.add_argument("--model", default=model, choices=model_zoo.get_model_list(),
                   metavar="NAME",
                   help=f"model zoo name; one of: {', '.join(model_zoo.get_model_list())}")
    g.add_argument("--bits", type=int_range(1, 32), default=None,
                   help="weight bits, 1..32 (model default: 1)")
    g.add_argument("--bits-a", type=int_range(1, 32), default=None,
                   help="activation bits, 1..32 (model default: 1)")
    g.add_argument("--clip-threshold", type=float_range(0, low_open=True), default=None,
                   help="gradient cancelling threshold of the sign (model default)")
    g.add_argument("--scaling", choices=("none", "xnor"), default="none",
                   help="weight scaling of the binary layers")
    g.add_argument("--pad-value", type=int, choices=(-1, 0, 1), default=None,
                   help="padding value of the binary convolutions (model default: -1)")
    g = parser.add_argument_group("optimization")
    g.add_argument("--optimizer", choices=("adam", "sgd", "radam"), default=optimizer)
    g.add_argument("--lr", type=float_range(0, low_open=True), default=lr,
                   help="base learning rate")
    g.add_argument("--lr-mode", choices=("step", "cosine"), default=lr_mode)
    g.add_argument("--lr-steps", type=int_list(1), default=[],
                   help="step mode: epochs at which the rate is multiplied by --lr-factor "
                        "(comma separated; default: 50%% and 75%% of --epochs)")
    g.add_argument("--lr-factor", type=float_range(0, low_open=True), default=0.1)
    g.add_argument("--warmup-epochs", type=float_range(0), default=0.0,
                   help="linear warmup from 0 to --lr over this many epochs")
    g.add_argument("--wd", type=float_range(0), default=0.0, help="weight decay")
    g.add_argument("--momentum", type=float_range(0, 1, high_open=True), default=0.9,
                   help="sgd momentum")
    g.add_argument("--epochs", type=int_range(1), default=epochs)
    g.add_argument("--batch-size", type=int_range(1), default=batch_size, help="per worker")
    g.add_argument("--seed", type=int_range(0), default=0)
    g = parser.add_argument_group("data and output")
    if data_dir is not None:
        g.add_argument("--data-dir", default=data_dir, help="dataset folder (never downloaded)")
    g.add_argument("--dataset", choices=datasets, default=datasets[0],
                   help="'dummy': small synthetic data for smoke tests")
    g.add_argument("--dummy-size", type=int_range(1), default=256, help="images per split with --dataset dummy")
    g.add_argument("--save-dir", default=save_dir,
                   help="checkpoints (every epoch), metrics CSV/PNG and the final export")
    g.add_argument("--resume", default="",
                   help="a checkpoint (.params written by a previous run) or its --save-dir "
                        "(latest checkpoint) to continue from; an export (PREFIX-0000.params) "
                        "starts a new run from its weights")
    g.add_argument("--keep-checkpoints", type=int_range(0), default=2,
                   help="how many epoch checkpoints to keep (0: all)")
    g.add_argument("--kvstore", default="device", choices=KVSTORES,
                   help="local, device, or dist_sync / dist_async / dist_device_sync under "
                        "MXNet's parameter server (launch with `bmxnet launch`)")
    g.add_argument("--no-hybridize", action="store_true", help="run imperatively (debugging)")
    g = parser.add_argument_group("devices").add_mutually_exclusive_group()
    g.add_argument("--gpus", type=_gpu_list, default=None, metavar="I,J,...",
                   help="train data-parallel on these GPUs, e.g. 0,1,2,3 (the CUDA build of "
                        "MXNet: pip install " + CUDA_WHEEL + ")")
    g.add_argument("--ctx", type=_device_names, default=None, metavar="DEV:I,...",
                   help="the devices to train on, e.g. gpu:0,gpu:1 or cpu:0,cpu:1 "
                        "(default: cpu:0); each batch is split across them")
    return parser


# The MXNet wheel built with CUDA, of the version this package is built against.
CUDA_WHEEL = "mxnet-cu112==1.9.1"


def _unique(items, flag):
    seen = [item for i, item in enumerate(items) if item in items[:i]]
    if seen:
        raise argparse.ArgumentTypeError(f"{seen[0]} is listed twice")
    if not items:
        raise argparse.ArgumentTypeError(f"expected at least one device, e.g. {flag}")
    return items


def _gpu_list(text):
    """``0,1,2,3`` -> ["gpu:0", "gpu:1", ...] (MXNet's image-classification convention)."""
    indices = int_list(0)(text)
    return _unique([f"gpu:{i}" for i in indices], "0,1")


def _device_names(text):
    """``gpu:0,gpu:1`` or ``cpu:0,cpu:1`` (``gpu`` alone: ``gpu:0``) -> normalized strings."""
    out = []
    for item in (v.strip() for v in text.split(",") if v.strip()):
        kind, _, index = item.partition(":")
        kind = kind.strip().lower()
        index = index.strip() or "0"
        if kind not in ("cpu", "gpu") or not index.isdigit():
            raise argparse.ArgumentTypeError(
                f"expected devices such as gpu:0,gpu:1 or cpu:0,cpu:1, got {item!r}")
        out.append(f"{kind}:{int(index)}")
    return _unique(out, "gpu:0,gpu:1")


def contexts(args_or_names):
    """The devices of parsed args (their --ctx / --gpus; cpu:0 when neither is given) or of a
    list of ``kind:index`` names, as a list of mx.Context."""
    names = getattr(args_or_names, "ctx", args_or_names) or ["cpu:0"]
    out = []
    for name in names:
        kind, _, index = name.partition(":")
        out.append(mx.Context(kind, int(index or 0)))
    return out


def visible_gpus():
    """The number of GPUs MXNet can use: 0 with the CPU build (whose query may also raise)."""
    try:
        return int(mx.context.num_gpus())
    except Exception:
        return 0


def _check_devices(parser, args):
    """--gpus / --ctx name devices this MXNet can use: a usage error (one line) otherwise."""
    if getattr(args, "gpus", None) is not None:
        args.ctx, flag = args.gpus, "--gpus"
    else:
        flag = "--ctx"
    if not getattr(args, "ctx", None):
        args.ctx = ["cpu:0"]
        return
    gpus = [int(name.split(":")[1]) for name in args.ctx if name.startswith("gpu:")]
    if not gpus:
        return
    count = visible_gpus()
    if count == 0:
        if _built_with_cuda():
            parser.error(f"argument {flag}: no GPU is visible to MXNet (this MXNet has CUDA, "
                         f"but finds no device: check the driver and CUDA_VISIBLE_DEVICES)")
        parser.error(f"argument {flag}: no GPU is visible to MXNet: the installed mxnet is "
                     f"the CPU build; for GPUs, pip install {CUDA_WHEEL} (in place of mxnet)")
    missing = [i for i in gpus if i >= count]
    if missing:
        parser.error(f"argument {flag}: no GPU {missing[0]}: MXNet sees {count} GPU"
                     f"{'s' if count > 1 else ''} (0..{count - 1})")


def _built_with_cuda():
    try:
        return bool(mx.runtime.Features().is_enabled("CUDA"))
    except Exception:
        return False


KVSTORES = ("device", "local", "dist_sync", "dist_async", "dist_device_sync", "none")

# The flags that define the network a checkpoint holds (its parameters alone do not tell:
# --scaling and --pad-value, for example, add none). A resumed run must use the recorded ones.
ARCHITECTURE_FLAGS = ("model", "bits", "bits_a", "clip_threshold", "scaling", "pad_value",
                      "classes", "input_size")


def parse_args(parser, argv=None, name_of=None):
    """Parses `argv` with `parser` (built with :func:`add_arguments`) and checks what a flag's
    type cannot: that --data-dir exists (real data), and for --resume that the checkpoint
    exists and was trained with the same architecture flags. Architecture flags not given on
    the command line are taken from the checkpoint; one given with a different value is a usage
    error naming it. `name_of(args)` is the checkpoint name (default: args.model).
    --gpus / --ctx become ``args.ctx``, a list of ``kind:index`` names (:func:`contexts`
    gives the mx.Context list), after checking that MXNet sees the GPUs they name.
    Usage errors exit with status 2 and one line, as argparse does."""
    one_line_errors(parser)
    args = parser.parse_args(argv)
    _check_devices(parser, args)
    rec_files = getattr(args, "rec_train", None) and getattr(args, "rec_val", None)
    if getattr(args, "data_dir", None) is not None and args.dataset == "real" and \
            not rec_files and not os.path.isdir(os.path.expanduser(args.data_dir)):
        parser.error(f"argument --data-dir: {args.data_dir}: no such folder (put the dataset "
                     f"there, or pass --dataset dummy for synthetic data)")
    if getattr(args, "data_dir", None):
        args.data_dir = os.path.expanduser(args.data_dir)
    if args.resume:
        _restore_architecture(parser, args, argv, name_of)
    return args


def run_script(parse_args, train, argv=None):
    """A training script's main: parses `argv`, trains, and returns the exit status; data
    missing from --data-dir (FileNotFoundError) is a usage error, one line on stderr and 2."""
    args = parse_args(argv)
    try:
        train(args)
    except (FileNotFoundError, ResumeError) as e:
        print(f"{os.path.basename(sys.argv[0])}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        # One line instead of the traceback (which ends in whatever MXNet call was waiting):
        # where training can continue from, and the command that does it.
        checkpoint = getattr(e, "checkpoint", None)
        if checkpoint:
            command = _resume_command(sys.argv[1:] if argv is None else argv, checkpoint)
            print(f"interrupted; the last checkpoint is {checkpoint}; continue with: {command}",
                  file=sys.stderr, flush=True)
        else:
            print("interrupted before the first checkpoint was written: nothing to resume; "
                  "run the same command to start again", file=sys.stderr, flush=True)
        return 130  # 128 + SIGINT, as a shell reports a process that SIGINT ended
    return 0


class ResumeError(ValueError):
    """--resume names a file that cannot be loaded into the model (a usage error)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`fit`; `checkpoint` is the .params file to resume from (None: no
    checkpoint was written yet)."""

    def __init__(self, checkpoint):
        super().__init__(checkpoint)
        self.checkpoint = checkpoint


def _resume_command(argv, checkpoint):
    """The command line that reruns this script with `argv`, --resume `checkpoint` in place of
    any --resume it had."""
    import shlex
    import shutil

    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--resume":
            skip = True
        elif not arg.startswith("--resume="):
            kept.append(arg)
    python = os.path.basename(sys.executable)
    if shutil.which(python) != sys.executable:
        python = sys.executable
    return shlex.join([python, sys.argv[0]] + kept + ["--resume", checkpoint])


def _explicit_flags(parser, argv):
    """The destinations of the options that `argv` sets explicitly."""
    saved = {a.dest: a.default for a in parser._actions}
    try:
        for action in parser._actions:
            action.default = argparse.SUPPRESS
        return set(vars(parser.parse_known_args(argv)[0]))
    finally:
        for action in parser._actions:
            action.default = saved[action.dest]


def _restore_architecture(parser, args, argv, name_of):
    name = name_of(args) if name_of else args.model
    try:
        path = _find_checkpoint(args.resume, name)
    except FileNotFoundError as e:
        parser.error(str(e))
    meta_path = path[:-len(".params")] + ".json"
    args.resume = path
    if not os.path.isfile(meta_path) and _is_export(path):
        # An export records no flags; the run's checkpoints beside it do.
        beside = _latest_checkpoint_beside(path)
        meta_path = beside[:-len(".params")] + ".json" if beside else meta_path
    if not os.path.isfile(meta_path):
        _log(f"note: {meta_path} is missing: the architecture flags of {path} cannot be "
             f"checked; resuming with the flags given")
        return
    recorded = json.load(open(meta_path)).get("args", {})
    explicit = _explicit_flags(parser, sys.argv[1:] if argv is None else argv)
    differ, restored = [], []
    for key in ARCHITECTURE_FLAGS:
        if key not in recorded or not hasattr(args, key):
            continue
        value = getattr(args, key)
        if value == recorded[key]:
            continue
        flag = "--" + key.replace("_", "-")
        if key in explicit:
            differ.append(f"{flag} {_flag_text(value)} (checkpoint: {_flag_text(recorded[key])})")
        else:
            setattr(args, key, recorded[key])
            restored.append(f"{flag} {_flag_text(recorded[key])}")
    if differ:
        parser.error(f"argument --resume: {path} was trained with other architecture flags: "
                     f"{'; '.join(differ)}; drop them to resume with the checkpoint's, or "
                     f"train a new model in another --save-dir")
    if restored:
        _log(f"resuming with the checkpoint's architecture flags: {' '.join(restored)}")


def _flag_text(value):
    return "(model default)" if value is None else str(value)


def quant_options(args):
    """The model keyword arguments that the quantization flags set."""
    options = {}
    for key in ("bits", "bits_a", "clip_threshold", "pad_value"):
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    if getattr(args, "scaling", "none") not in (None, "none"):
        options["scaling"] = args.scaling
    return options


def build_model(args, classes, **kwargs):
    """The zoo model `args.model` with the quantization flags applied. Its signs are the op
    library's CPU ops when every device of args is a CPU (faster; same values and gradients),
    stock MXNet ops otherwise (they run on GPUs; see bmxnet.ste_sign)."""
    with ste_sign.library_ops(all(c.device_type == "cpu" for c in contexts(args))):
        return model_zoo.get_model(args.model, classes=classes, **quant_options(args), **kwargs)


# ------------------------------------------------------------------------------------------
# Optimization
# ------------------------------------------------------------------------------------------

@mx.optimizer.register
class RAdam(mx.optimizer.Optimizer):
    """Rectified Adam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and
    Beyond"): Adam whose adaptive step is rectified by the variance of its estimate, and plain
    momentum SGD while that variance is intractable (the first few steps)."""

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon

    def create_state(self, index, weight):
        return (mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype),
                mx.nd.zeros(weight.shape, weight.context, dtype=weight.dtype))

    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        g = grad * self.rescale_grad
        if self.clip_gradient:
            g = mx.nd.clip(g, -self.clip_gradient, self.clip_gradient)
        g = g + wd * weight
        mean, var = state
        mean[:] = self.beta1 * mean + (1 - self.beta1) * g
        var[:] = self.beta2 * var + (1 - self.beta2) * g * g
        mean_hat = mean / (1 - self.beta1 ** t)
        rho_inf = 2 / (1 - self.beta2) - 1
        rho = rho_inf - 2 * t * self.beta2 ** t / (1 - self.beta2 ** t)
        if rho > 4:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            var_hat = mx.nd.sqrt(var / (1 - self.beta2 ** t)) + self.epsilon
            weight[:] = weight - lr * r * mean_hat / var_hat
        else:
            weight[:] = weight - lr * mean_hat


def make_scheduler(mode, base_lr, epochs, steps_per_epoch, warmup_epochs=0.0, lr_steps=(),
                   lr_factor=0.1):
    """An MXNet LRScheduler over iterations: cosine to 0 or steps at `lr_steps` (epochs),
    after a linear warmup from 0 over `warmup_epochs`."""
    total = max(1, int(epochs * steps_per_epoch))
    warmup = int(warmup_epochs * steps_per_epoch)
    if mode == "cosine":
        return mx.lr_scheduler.CosineScheduler(max_update=max(total, warmup + 1),
                                               base_lr=base_lr, final_lr=0,
                                               warmup_steps=warmup, warmup_begin_lr=0)
    if mode == "step":
        epochs_at = list(lr_steps) or [max(1, epochs // 2), max(2, (3 * epochs) // 4)]
        steps = sorted({max(warmup + 1, int(e * steps_per_epoch)) for e in epochs_at})
        return mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=lr_factor,
                                                    base_lr=base_lr, warmup_steps=warmup,
                                                    warmup_begin_lr=0)
    raise ValueError(f"lr mode must be 'step' or 'cosine', got {mode!r}")


def create_kvstore(name):
    """The kvstore for `name` (None for plain single-device training)."""
    if not name or name in ("none", "None"):
        return None
    return mx.kv.create(name)


def start(seed, kvstore_name):
    """A training script's first steps: seeds MXNet's and numpy's generators and creates the
    kvstore. Returns (kvstore or None, this worker's rank, the number of workers)."""
    mx.random.seed(seed)
    np.random.seed(seed)
    kv = create_kvstore(kvstore_name)
    return (kv, kv.rank, kv.num_workers) if kv is not None else (None, 0, 1)


def make_trainer(net, args, steps_per_epoch, kvstore=None):
    """gluon.Trainer with the optimizer and schedule of `args`."""
    scheduler = make_scheduler(args.lr_mode, args.lr, args.epochs, steps_per_epoch,
                               args.warmup_epochs, args.lr_steps, args.lr_factor)
    params = {"learning_rate": args.lr, "lr_scheduler": scheduler, "wd": args.wd}
    if args.optimizer == "sgd":
        params["momentum"] = args.momentum
    # Without a kvstore, Gluon's default ('device') still combines several devices' gradients.
    kwargs = {}
    if kvstore is not None:
        kwargs["kvstore"] = kvstore
        if "dist" in kvstore.type:
            kwargs["update_on_kvstore"] = True  # the servers hold and update the weights
    return gluon.Trainer(net.collect_params(), args.optimizer, params, **kwargs)


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------

class ArrayBatches:
    """Mini-batches of in-memory arrays; shuffled each epoch; optionally one shard of
    `num_parts` (every shard gets the same number of batches, as dist_sync needs); an
    optional ``augment(x_batch, rng) -> x_batch`` runs on numpy batches."""

    def __init__(self, x, y, batch_size, shuffle=False, augment=None, part_index=0,
                 num_parts=1, seed=0, drop_last=False):
        if num_parts > 1:
            per_part = len(x) // num_parts
            x = x[part_index * per_part:(part_index + 1) * per_part]
            y = y[part_index * per_part:(part_index + 1) * per_part]
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.drop_last = drop_last
        self._rng = np.random.RandomState(seed + part_index)

    def get_state(self):
        """The state of the generator that shuffles and augments (a checkpoint saves it, so
        that a resumed run sees the batches the uninterrupted one would have)."""
        return self._rng.get_state()

    def set_state(self, state):
        self._rng.set_state(state)

    def __len__(self):
        n = len(self.x) // self.batch_size
        return n if self.drop_last or len(self.x) % self.batch_size == 0 else n + 1

    def __iter__(self):
        order = self._rng.permutation(len(self.x)) if self.shuffle else np.arange(len(self.x))
        for i in range(len(self)):
            idx = np.sort(order[i * self.batch_size:(i + 1) * self.batch_size])
            x = self.x[idx]
            if self.augment is not None:
                x = self.augment(x, self._rng)
            yield mx.nd.array(x, dtype="float32"), mx.nd.array(self.y[idx], dtype="float32")


def dummy_arrays(count, shape, classes, seed=0):
    """Synthetic images with a learnable class signal (a class-dependent mean), for smoke tests."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, classes, size=count)
    x = rng.uniform(0, 1, size=(count,) + tuple(shape)).astype(np.float32)
    x += (y.reshape((-1,) + (1,) * len(shape)) / max(classes - 1, 1) - 0.5).astype(np.float32)
    return x, y.astype(np.int64)


# ------------------------------------------------------------------------------------------
# Metrics history: CSV + PNG
# ------------------------------------------------------------------------------------------

class History:
    """Per-epoch metrics, written as CSV and plotted as PNG."""

    FIELDS = ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")

    def __init__(self, rows=None):
        self.rows = list(rows or [])

    def add(self, **row):
        self.rows.append({k: row.get(k) for k in self.FIELDS})

    def write_csv(self, path):
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.FIELDS)
            writer.writeheader()
            for row in self.rows:
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})

    def plot(self, path, title=""):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        epochs = [r["epoch"] for r in self.rows]
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
            for split, style in (("train", "-o"), ("val", "-s")):
                values = [r[f"{split}_{key}"] for r in self.rows]
                if any(v is not None for v in values):
                    ax.plot(epochs, [np.nan if v is None else v for v in values], style,
                            label=split, markersize=3)
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            ax.legend()
        axes[2].plot(epochs, [r["lr"] for r in self.rows], "-o", markersize=3)
        axes[2].set_xlabel("epoch")
        axes[2].set_ylabel("learning rate (epoch mean)")
        axes[2].grid(alpha=0.3)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=80)
        plt.close(fig)


# ------------------------------------------------------------------------------------------
# Loop
# ------------------------------------------------------------------------------------------

def smoke_steps():
    """$BMXNET_STEPS_PER_EPOCH: when set to N > 0, every epoch (and validation) stops after N
    batches, so that a documented training command can be run as written in a smoke test."""
    text = os.environ.get("BMXNET_STEPS_PER_EPOCH", "")
    try:
        return max(0, int(text)) if text else 0
    except ValueError:
        raise ValueError(f"BMXNET_STEPS_PER_EPOCH={text!r}: expected a number of batches") from None


def _batches(data, limit):
    import itertools

    return itertools.islice(data, limit) if limit else data


def _context_list(ctx):
    """`ctx` (None: cpu:0, one mx.Context, or a list of them) as a non-empty list."""
    if ctx is None:
        return [mx.cpu()]
    if isinstance(ctx, mx.Context):
        return [ctx]
    ctx = list(ctx)
    if not ctx:
        raise ValueError("ctx: expected at least one mx.Context")
    return ctx


def _split(x, y, ctxs):
    """One batch split across the devices: [(x_i, y_i, weight_i)], every device with at least
    one sample. `gluon.utils.split_and_load` (even_split=False: any batch size) gives each
    device its share; a batch with fewer samples than devices (a last partial batch can be)
    gives the others a copy of its first sample with weight 0, so that every device computes
    a gradient (zero there) for the kvstore to combine."""
    n = x.shape[0]
    weights = [1.0] * len(ctxs)
    if n < len(ctxs):
        index = mx.nd.array(list(range(n)) + [0] * (len(ctxs) - n), dtype="int64")
        x, y = mx.nd.take(x, index), mx.nd.take(y, index)
        weights = [1.0] * n + [0.0] * (len(ctxs) - n)
    xs = gluon.utils.split_and_load(x, ctxs, even_split=False)
    ys = gluon.utils.split_and_load(y, ctxs, even_split=False)
    return list(zip(xs, ys, weights))


def _sync_statistics(net, ctxs):
    """Sets the parameters that training does not update through the kvstore (grad_req
    'null': BatchNorm's running mean and variance, which each device accumulates from its own
    share of the batches) to their mean over the devices on every device, so that evaluation,
    checkpoints (Gluon saves that mean) and the export all see the same network."""
    if len(ctxs) < 2:
        return
    for param in net.collect_params().values():
        if param.grad_req != "null":
            continue
        try:
            copies = param.list_data()
        except Exception:  # not initialized yet (deferred): nothing to combine
            continue
        if len(copies) > 1:
            # In place: Parameter.set_data would also reset the trainer's kvstore.
            mean = mx.nd.add_n(*[c.as_in_context(ctxs[0]) for c in copies]) / len(copies)
            for c in copies:
                mean.copyto(c)


def evaluate(net, data, loss_fn=None, ctx=None):
    """(mean loss, accuracy) of `net` over `data`; each batch is split across the devices of
    `ctx` (one mx.Context or a list; default cpu:0)."""
    ctxs = _context_list(ctx)
    loss_fn = loss_fn or gluon.loss.SoftmaxCrossEntropyLoss()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in _batches(data, smoke_steps()):
        for xi, yi, weight in _split(x, y, ctxs):
            if not weight:  # a padding copy: no sample of this batch
                continue
            out = net(xi)
            total_loss += float(loss_fn(out, yi).sum().asscalar())
            correct += int((out.argmax(axis=1) == yi.astype(out.dtype)).sum().asscalar())
        count += x.shape[0]
    return total_loss / max(count, 1), correct / max(count, 1)


def _checkpoint_paths(save_dir, name, epoch):
    base = os.path.join(save_dir, f"{name}-epoch{epoch:04d}")
    return base + ".params", base + ".states", base + ".json", base + ".rng"


def _is_export(path):
    """Whether a .params file is an export (``arg:``/``aux:`` names, as SymbolBlock and
    model-converter read) rather than a checkpoint (save_parameters' structural names)."""
    try:
        names = list(mx.nd.load(path))
    except Exception:
        return False
    return bool(names) and all(n.startswith(("arg:", "aux:")) for n in names)


def _latest_checkpoint_beside(path):
    """The newest epoch checkpoint of an export's name in the export's folder, or None."""
    stem = os.path.basename(path)
    stem = stem[:-len("-0000.params")] if stem.endswith("-0000.params") else stem
    found = sorted(glob.glob(os.path.join(os.path.dirname(path) or ".",
                                          f"{glob.escape(stem)}-epoch[0-9]*.params")))
    return found[-1] if found else None


def _random_states(train_data):
    import random

    data = train_data.get_state() if hasattr(train_data, "get_state") else None
    return {"numpy": np.random.get_state(), "python": random.getstate(), "data": data}


def _set_random_states(states, train_data):
    import random

    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if states.get("data") is not None and hasattr(train_data, "set_state"):
        train_data.set_state(states["data"])


def _seed_mxnet(args, epoch):
    """MXNet's generators (dropout, its random operators) restart every epoch from (--seed,
    epoch): MXNet cannot report their state for a checkpoint, so this is what makes a resumed
    epoch draw what the uninterrupted one drew."""
    mx.random.seed((int(getattr(args, "seed", 0) or 0) * 1000003 + epoch) % (2 ** 31))


def _find_checkpoint(resume, name):
    """The .params checkpoint `resume` names (a file, or the latest one in a folder)."""
    if os.path.isdir(resume):
        found = sorted(glob.glob(os.path.join(resume, f"{name}-epoch[0-9]*.params")))
        if not found:  # a checkpoint of another --model (its flags are restored)
            found = sorted(glob.glob(os.path.join(resume, "*-epoch[0-9]*.params")),
                           key=lambda p: (p.rsplit("-epoch", 1)[1], p))
        if not found:
            raise FileNotFoundError(f"--resume {resume}: no {name}-epochNNNN.params checkpoint "
                                    f"in that folder")
        return found[-1]
    if not os.path.isfile(resume):
        raise FileNotFoundError(f"--resume {resume}: no such checkpoint file or folder")
    return resume


def _log(msg):
    print(msg, flush=True)


def fit(net, train_data, val_data, args, name=None, ctx=None, loss_fn=None, kvstore=None,
        export_prefix=None, input_shape=None):
    """Trains `net` (initialized) on `train_data` for args.epochs; returns the History.

    Writes into args.save_dir: ``NAME-epochNNNN.params/.states/.json`` every epoch (the last
    args.keep_checkpoints kept), ``NAME-metrics.csv``, ``NAME-curves.png`` and the final export
    ``export_prefix-symbol.json`` / ``-0000.params`` (default ``save_dir/NAME``), with the
    input shape recorded in the symbol file (`input_shape`, default: a training batch's
    sample shape with batch 1; see :mod:`bmxnet.export`). Under a
    distributed kvstore, worker 0 writes them; every worker also writes its final parameters
    to ``NAME-worker<rank>.params``.

    `ctx` is one mx.Context or a list (data parallel; `net` initialized on all of them): each
    batch is split across the devices, each computes the forward and backward pass of its
    share, and the kvstore combines the gradients into one update of the global batch.
    BatchNorm computes its batch statistics per device; its running statistics are averaged
    over the devices at the end of every epoch (see :func:`_sync_statistics`).

    A checkpoint holds what the next epoch depends on: parameters, optimizer state, history
    and the random states (numpy's, Python's and the data's own generator, ``get_state`` /
    ``set_state`` as :class:`ArrayBatches` has; MXNet's is reseeded every epoch), so that a
    run resumed from it gives the parameters of the uninterrupted run. `args.resume` may also
    name an export (``PREFIX-0000.params``): its weights start a new run (warm start).
    Ctrl-C raises :class:`TrainingInterrupted` with the last checkpoint written.
    """
    progress = {"checkpoint": None}
    try:
        return _fit(net, train_data, val_data, args, name, ctx, loss_fn, kvstore, export_prefix,
                    input_shape, progress)
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:
        raise TrainingInterrupted(progress["checkpoint"]) from None


def _resume(net, trainer, train_data, path, ctxs):
    """Loads the checkpoint `path` into `net` and `trainer`, and sets the random states it
    recorded; returns (epochs done, History)."""
    net.load_parameters(path, ctx=ctxs)
    base = path[:-len(".params")]
    start_epoch, history = 0, History()
    if os.path.isfile(base + ".json"):
        meta = json.load(open(base + ".json"))
        start_epoch = int(meta["epoch"])
        history = History(meta.get("history"))
    if os.path.isfile(base + ".states"):
        x0, _ = next(iter(train_data))  # parameters must exist before loading states
        net(x0.as_in_context(ctxs[0]))
        schedule = trainer._optimizer.lr_scheduler
        trainer.load_states(base + ".states")
        # The states bring the optimizer that was saved, with the schedule of that run's
        # --epochs; the flags of this run decide it (the same one when they are unchanged).
        trainer._optimizer.lr_scheduler = schedule
    # After the batch above, which drew from the data's generator.
    if os.path.isfile(base + ".rng"):
        import pickle

        with open(base + ".rng", "rb") as f:
            _set_random_states(pickle.load(f), train_data)
    else:
        _log(f"note: {base}.rng is missing: the data order and random states of the "
             f"interrupted run are not restored")
    _log(f"resumed from {path} (epoch {start_epoch})")
    return start_epoch, history


def _warm_start(net, path, ctxs):
    """Loads the weights of an export into `net` (its names: ``arg:``/``aux:`` and the full
    parameter names); the run starts at epoch 1 with a new optimizer."""
    loaded = mx.nd.load(path)
    params = net.collect_params()
    names = {k.split(":", 1)[1] for k in loaded}
    missing = sorted(set(params.keys()) - names)
    extra = sorted(names - set(params.keys()))
    if missing or extra:
        what = f"it lacks {missing[0]}" if missing else f"it has {extra[0]}, which the model lacks"
        raise ResumeError(f"--resume {path}: this export does not fit the model ({what}); "
                          f"resume from an epoch checkpoint (NAME-epochNNNN.params) of the "
                          f"same --model and flags")
    params.load_dict(loaded, ctx=ctxs)
    beside = _latest_checkpoint_beside(path)
    hint = f" (to continue that run instead: --resume {beside})" if beside else \
        " (to continue a run instead, resume from its NAME-epochNNNN.params checkpoint)"
    _log(f"warm start from the export {path}: its weights, a new optimizer, epoch 1{hint}")


def _fit(net, train_data, val_data, args, name, ctx, loss_fn, kvstore, export_prefix,
         input_shape, progress):
    ctxs = _context_list(ctx)
    name = name or args.model
    loss_fn = loss_fn or gluon.loss.SoftmaxCrossEntropyLoss()
    save_dir = args.save_dir
    rank = kvstore.rank if kvstore is not None else 0
    num_workers = kvstore.num_workers if kvstore is not None else 1
    distributed = kvstore is not None and "dist" in kvstore.type
    writer = rank == 0
    os.makedirs(save_dir, exist_ok=True)
    if not args.no_hybridize:
        net.hybridize()
    steps = min(len(train_data), smoke_steps() or len(train_data))
    trainer = make_trainer(net, args, steps, kvstore)

    history, start_epoch = History(), 0
    if args.resume:
        path = _find_checkpoint(args.resume, name)
        progress["checkpoint"] = path
        if _is_export(path):
            _warm_start(net, path, ctxs)
        else:
            start_epoch, history = _resume(net, trainer, train_data, path, ctxs)

    label = name if name == args.model else f"{name} ({args.model})"
    csv_path = os.path.join(save_dir, f"{name}-metrics.csv")
    png_path = os.path.join(save_dir, f"{name}-curves.png")
    from tqdm import tqdm

    # Elapsed seconds go on from the checkpoint's, so that the CSV's column is the run's total.
    t0 = time.time() - float((history.rows[-1].get("seconds") or 0) if history.rows else 0)
    global_step = start_epoch * steps
    sample_shape = None  # of a training batch: the export records it as the input shape
    # Under a distributed kvstore the servers run the optimizer that the first step sent them,
    # with its gradient scale 1 / (global batch) fixed then: Gluon refuses a step with another
    # batch size (UserWarning "Possible change in the batch_size"). Every step therefore
    # passes that first size, and a smaller batch (an epoch's last) scales its loss by
    # first size / its size, which gives the mean over its real global batch (every worker's
    # shard has the same size, so every worker has the same batches and number of steps).
    step_size = None

    # The rate each epoch logs is the mean over its updates (the optimizer's update k uses
    # schedule(k), k from 1; a cosine schedule reaches 0 exactly at the last update). Computed
    # from a twin of the schedule: under dist kvstores the servers run the optimizer, and
    # step schedules keep state.
    log_schedule = make_scheduler(args.lr_mode, args.lr, args.epochs, steps, args.warmup_epochs,
                                  args.lr_steps, args.lr_factor)

    def mean_lr(first_update, last_update):
        rates = [log_schedule(k) for k in range(first_update, last_update + 1)]
        return sum(rates) / len(rates) if rates else args.lr

    for epoch in range(start_epoch, args.epochs):
        _seed_mxnet(args, epoch)
        first_update = global_step + 1
        total_loss, correct, count = 0.0, 0, 0
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{args.epochs}", leave=False,
                   disable=None, unit="batch")
        for x, y in _batches(train_data, steps):
            n = x.shape[0]
            sample_shape = sample_shape or x.shape
            step_size = n if step_size is None or not distributed else step_size
            parts = _split(x, y, ctxs)
            with autograd.record():
                outs = [net(xi) for xi, _, _ in parts]
                losses = [loss_fn(out, yi) for out, (_, yi, _) in zip(outs, parts)]
                scaled = [loss if w * step_size == n else loss * (w * step_size / n)
                          for loss, (_, _, w) in zip(losses, parts)]
            for loss in scaled:
                loss.backward()
            trainer.step(step_size * num_workers)  # the mean over the global batch
            global_step += 1
            for out, loss, (_, yi, w) in zip(outs, losses, parts):
                if w:
                    total_loss += float(loss.sum().asscalar())
                    correct += int((out.argmax(axis=1) == yi.astype(out.dtype)).sum()
                                   .asscalar())
            count += n
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss / count:.3f}", acc=f"{correct / count:.3f}")
        bar.close()
        _sync_statistics(net, ctxs)
        val_loss, val_acc = evaluate(net, val_data, loss_fn, ctxs) if val_data is not None \
            else (None, None)
        lr = mean_lr(first_update, global_step)
        history.add(epoch=epoch + 1, lr=lr, train_loss=total_loss / count,
                    train_acc=correct / count, val_loss=val_loss, val_acc=val_acc,
                    seconds=round(time.time() - t0, 2))
        worker = f"[worker {rank}/{num_workers}] " if distributed else ""
        val_text = f"  val loss {val_loss:.4f}  val acc {val_acc:.4f}" if val_data is not None else ""
        _log(f"{worker}epoch {epoch + 1}/{args.epochs}: lr {lr:.2e}  "
             f"train loss {total_loss / count:.4f}  train acc {correct / count:.4f}{val_text}  "
             f"({time.time() - t0:.0f} s)")
        if writer:
            _save_checkpoint(net, trainer, history, args, save_dir, name, epoch + 1,
                             distributed, train_data, progress)
            history.write_csv(csv_path)
            try:
                history.plot(png_path, title=label)
            except Exception as e:  # a plotting problem must not stop training
                _log(f"warning: could not plot the curves: {e}")

    if distributed or num_workers > 1:
        net.save_parameters(os.path.join(save_dir, f"{name}-worker{rank}.params"))
    if writer:
        if sample_shape is None and input_shape is None:  # resumed after the last epoch
            sample_shape = next(iter(train_data))[0].shape
        prefix = export_prefix or os.path.join(save_dir, name)
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        export(net, prefix, input_shape or (1,) + tuple(sample_shape[1:]))
        best = max((r["val_acc"] for r in history.rows if r["val_acc"] is not None), default=None)
        last = history.rows[-1] if history.rows else {}
        _log("")
        _log(f"done: {len(history.rows)} epochs of {label} in "
             f"{time.time() - t0:.0f} s")
        if last.get("val_acc") is not None:
            _log(f"  final val acc {last['val_acc']:.4f}, best {best:.4f}")
        _log(f"  export:  {prefix}-symbol.json, {prefix}-0000.params "
             f"(next: model-converter {prefix}-0000.params)")
        _log(f"  metrics: {csv_path}, {png_path}")
    return history


def _save_checkpoint(net, trainer, history, args, save_dir, name, epoch, distributed,
                     train_data=None, progress=None):
    """Writes the checkpoint of `epoch` and records its .params path in progress
    ["checkpoint"] as soon as it is complete. Each file is written to a temporary and renamed,
    the .params (which --resume looks for) last, so that a run stopped while saving (Ctrl-C)
    leaves the previous checkpoint as the latest whole one."""
    import pickle

    params, states, meta, rng = _checkpoint_paths(save_dir, name, epoch)
    temp = {path: f"{path}.tmp{os.getpid()}" for path in (params, states, meta, rng)}
    try:
        net.save_parameters(temp[params])
        try:
            trainer.save_states(temp[states])
        except Exception as e:  # dist kvstores keep optimizer states on the servers
            if not distributed:
                raise
            _log(f"note: optimizer states not saved under {args.kvstore} "
                 f"({e.__class__.__name__})")
        with open(temp[meta], "w") as f:
            json.dump({"epoch": epoch, "model": args.model, "history": history.rows,
                       "args": {k: v for k, v in vars(args).items()
                                if isinstance(v, (int, float, str, bool, list, type(None)))}},
                      f, indent=1)
        with open(temp[rng], "wb") as f:
            pickle.dump(_random_states(train_data), f)
        for path in (states, meta, rng, params):
            if os.path.isfile(temp[path]):
                os.replace(temp[path], path)
        if progress is not None:
            progress["checkpoint"] = params
    finally:
        for path in temp.values():
            if os.path.isfile(path):
                os.remove(path)
    if args.keep_checkpoints > 0:
        for old in range(1, epoch - args.keep_checkpoints + 1):
            for path in _checkpoint_paths(save_dir, name, old):
                if os.path.isfile(path):
                    os.remove(path)


# ------------------------------------------------------------------------------------------
# Distributed launch (bmxnet.launch)
# ------------------------------------------------------------------------------------------

def launch(argv=None):
    """Runs a distributed job with MXNet's launcher arguments; see :mod:`bmxnet.launch`."""
    from .launch import launch as _launch

    return _launch(argv)
