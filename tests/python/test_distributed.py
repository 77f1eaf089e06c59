"""Distributed training on MXNet's parameter server: two local workers and a server, launched
with MXNet's own launcher (mxnet/tools/launch.py --launcher local through `bmxnet launch`),
train the binary LeNet on a few batches of the MNIST sample with --kvstore dist_sync, each
worker on two devices (cpu:0,cpu:1); both workers must end with the same parameters."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import bmxnet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_two_workers_one_server_end_with_the_same_parameters(tmp_path, mnist_dir):
    env = dict(os.environ)
    # The workers import the same bmxnet (and op library) as this test.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(bmxnet.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["BMXNET_LIBRARY"] = bmxnet.library_path()
    env["OMP_NUM_THREADS"] = "1"
    save = tmp_path / "dist"
    cmd = [sys.executable, "-m", "bmxnet.cli", "launch", "-n", "2", "-s", "1",
           "--launcher", "local",
           sys.executable, os.path.join(ROOT, "examples", "mnist", "train.py"),
           "--data-dir", mnist_dir, "--kvstore", "dist_sync", "--epochs", "1",
           "--train-count", "270", "--val-count", "100", "--batch-size", "32",
           "--ctx", "cpu:0,cpu:1",  # the kvstore combines each worker's devices, then the workers
           "--prefix", str(save / "lenet"), "--save-dir", str(save)]
    proc = subprocess.run(cmd, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=280)
    log = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "[worker 0/2] epoch 1/1" in log and "[worker 1/2] epoch 1/1" in log, log[-3000:]

    w0 = mx.nd.load(str(save / "lenet-worker0.params"))
    w1 = mx.nd.load(str(save / "lenet-worker1.params"))
    assert set(w0) == set(w1) and len(w0) > 10
    trainable = [k for k in w0 if not k.endswith(("running_mean", "running_var"))]
    for k in trainable:  # weights come from the server: identical on both workers
        np.testing.assert_array_equal(w0[k].asnumpy(), w1[k].asnumpy(), err_msg=k)
    # BatchNorm statistics are local to each worker (each saw its own half of the data).
    assert any(not np.array_equal(w0[k].asnumpy(), w1[k].asnumpy())
               for k in w0 if k.endswith("running_mean"))
    # The trained model was exported once, by worker 0.
    exported = mx.nd.load(str(save / "lenet-0000.params"))
    conv = [k for k in exported if k.endswith("conv1_weight")][0]
    assert np.abs(exported[conv].asnumpy()).sum() > 0
    assert (save / "lenet-metrics.csv").is_file() and (save / "lenet-symbol.json").is_file()


# ------------------------------------------------------------------------------------------
# The documented command, as a user types it
# ------------------------------------------------------------------------------------------

def _run_from_root(words, root, timeout, steps_per_epoch=4):
    from readme_blocks import program

    # As written; BMXNET_STEPS_PER_EPOCH cuts each epoch to a few batches (None: whole epochs).
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("BMXNET_STEPS_PER_EPOCH", None)
    if steps_per_epoch:
        env["BMXNET_STEPS_PER_EPOCH"] = str(steps_per_epoch)
    return subprocess.run([program(words[0])] + words[1:], cwd=root, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def test_readme_launch_line_runs_from_the_repository_root(tmp_path):
    from readme_blocks import launch_commands, sandbox

    commands = launch_commands()
    assert commands, "README.md has no `bmxnet launch ... --launcher local` line"
    root = sandbox(tmp_path)  # has python/, as the repository root does
    assert os.path.isdir(os.path.join(root, "python"))
    for words in commands:  # README.md's and examples/README.md's
        proc = _run_from_root(words, root, timeout=400)
        log = proc.stdout + proc.stderr
        assert proc.returncode == 0, " ".join(words) + "\n" + log[-3000:]
        assert "Is a directory" not in log
        assert "[worker 0/2]" in log and "[worker 1/2]" in log, log[-3000:]
        save_dir = words[words.index("--save-dir") + 1] if "--save-dir" in words else "out/mnist"
        assert os.path.isfile(os.path.join(root, save_dir, "binary_lenet-0000.params"))


def test_readme_distributed_line_trains_whole_epochs(tmp_path):
    """README.md's distributed line exactly as written, with no cap on the steps: each of the
    two workers trains its 2,000 images of the MNIST sample in batches of 64, so the epoch
    ends with a batch of 16. That batch once stopped both workers (the parameter servers'
    optimizer keeps the gradient scale of the first step, and Gluon refuses a step with
    another batch size); worker 0 must export the trained model."""
    from readme_blocks import launch_commands, sandbox

    commands = launch_commands(docs=("README.md",))
    assert len(commands) == 1, commands
    words = commands[0]
    root = sandbox(tmp_path)
    proc = _run_from_root(words, root, timeout=500, steps_per_epoch=None)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, " ".join(words) + "\n" + log[-3000:]
    # the default data and batch size leave a partial last batch on every worker
    assert "on 4000 images (worker 0 of 2 takes 1/2)" in log and "--batch-size" not in words
    assert 2000 % 64 == 16
    for rank in (0, 1):
        assert f"[worker {rank}/2] epoch 1/1" in log, log[-3000:]
    save_dir = os.path.join(root, words[words.index("--save-dir") + 1])
    for suffix in ("-symbol.json", "-0000.params"):
        assert os.path.isfile(os.path.join(save_dir, "binary_lenet" + suffix)), suffix


def test_a_partial_last_batch_under_dist_sync_is_the_mean_over_its_samples(tmp_path, mnist_dir):
    """One worker under dist_sync (the servers run the optimizer) and the same run without a
    parameter server end with the same weights, over epochs of 100 images in batches of 32
    (the last one 4): the partial batch's update is the mean over its own samples. SGD, whose
    update is linear in the gradient, shows a wrong scale at once."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("BMXNET_STEPS_PER_EPOCH", None)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(bmxnet.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["BMXNET_LIBRARY"] = bmxnet.library_path()
    script = [sys.executable, os.path.join(ROOT, "examples", "mnist", "train.py"),
              "--data-dir", mnist_dir, "--epochs", "2", "--train-count", "100",
              "--val-count", "50", "--batch-size", "32", "--optimizer", "sgd", "--lr", "0.05"]
    runs = {"dist": [sys.executable, "-m", "bmxnet.cli", "launch", "-n", "1", "-s", "1",
                     "--launcher", "local"] + script + ["--kvstore", "dist_sync"],
            "local": script}
    for name, cmd in runs.items():
        proc = subprocess.run(cmd + ["--save-dir", str(tmp_path / name)], env=env,
                              cwd=str(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=280)
        assert proc.returncode == 0, name + "\n" + proc.stdout.decode(errors="replace")[-3000:]
    dist = mx.nd.load(str(tmp_path / "dist" / "binary_lenet-0000.params"))
    local = mx.nd.load(str(tmp_path / "local" / "binary_lenet-0000.params"))
    assert set(dist) == set(local)
    for k in local:
        np.testing.assert_allclose(dist[k].asnumpy(), local[k].asnumpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=k)


def test_launch_stops_when_a_worker_fails_and_shows_its_last_lines(tmp_path):
    from readme_blocks import launch_commands, sandbox

    root = sandbox(tmp_path)
    words = launch_commands()[0] + ["--data-dir", "no/such/folder"]  # every worker fails
    proc = _run_from_root(words, root, timeout=200)  # the scheduler must not wait forever
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "bmxnet launch: worker" in proc.stderr and "exited with status 2" in proc.stderr
    assert "| train.py: error: argument --data-dir" in proc.stderr, proc.stderr[-2000:]


def test_launch_usage_errors_are_one_line(tmp_path):
    for argv, named in ((["-n", "0", "--launcher", "local", "python", "x.py"], "-n/--num-workers"),
                        (["-n", "2", "--launcher", "local"], "training command"),
                        (["-n", "2", "--launcher", "local", "no-such-program-x"], "not found")):
        proc = subprocess.run([sys.executable, "-m", "bmxnet.cli", "launch"] + argv,
                              capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and named in proc.stderr, proc.stderr
