"""``bmxnet launch``: distributed training on MXNet's parameter server.

Takes MXNet's launcher arguments (``mxnet/tools/launch.py``), e.g.
``-n 2 -s 1 --launcher local python examples/mnist/train.py --kvstore dist_sync``.

The command's program is resolved here, before any launcher sees it: a bare ``python`` /
``python3`` is the Python running bmxnet (so the workers import the same MXNet and bmxnet,
with or without an activated virtual environment), any other bare name is looked up on PATH.
MXNet's local launcher would otherwise turn ``python`` into ``./python`` when a folder of that
name exists (as in this repository's root).

``--launcher local`` is run by :func:`run_local`: the scheduler, the servers and the workers are
child processes of this one, their output is passed through, and when any of them fails the
others are stopped and its last lines are shown (MXNet's local launcher leaves the scheduler
waiting forever for workers that died). The other launchers (ssh, mpi, sge, yarn) are MXNet's,
run with the one fix dmlc_tracker needs on Python >= 3.9 (``Thread.isAlive``).
"""
import argparse
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from .argtypes import int_range, one_line_errors

__all__ = ["launch", "parse_args", "resolve_command", "run_local"]

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
TAIL_LINES = 20


class LaunchError(Exception):
    """A user mistake in the launch command (reported as one line, exit status 2)."""


def parse_args(argv):
    """MXNet's launcher arguments (the same names and defaults as mxnet/tools/launch.py)."""
    p = argparse.ArgumentParser(
        prog="bmxnet launch", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Distributed training with MXNet's parameter server.",
        epilog="examples:\n"
               "  bmxnet launch -n 2 -s 1 --launcher local \\\n"
               "      python examples/mnist/train.py --kvstore dist_sync --epochs 1\n"
               "  bmxnet launch -n 4 -s 2 -H hosts --launcher ssh --sync-dst-dir /tmp/job \\\n"
               "      python examples/imagenet/train.py --kvstore dist_sync\n")
    p.add_argument("-n", "--num-workers", required=True, type=int_range(1),
                   help="number of workers")
    p.add_argument("-s", "--num-servers", type=int_range(1), default=None,
                   help="number of servers (default: as many as workers)")
    p.add_argument("-H", "--hostfile", default=None, help="host file (ssh and mpi launchers)")
    p.add_argument("--sync-dst-dir", default=None,
                   help="ssh launcher: copy the current folder to this folder on every host")
    p.add_argument("--launcher", default="ssh", choices=["local", "ssh", "mpi", "sge", "yarn"])
    p.add_argument("--env-server", action="append", default=[], metavar="NAME:VALUE",
                   help="environment variable of the servers")
    p.add_argument("--env-worker", action="append", default=[], metavar="NAME:VALUE",
                   help="environment variable of the workers")
    p.add_argument("--env", action="append", default=[], metavar="NAME",
                   help="passes this variable on to every process (remote launchers)")
    p.add_argument("--p3", action="store_true", help="P3 distributed training")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="the training command, e.g. python examples/mnist/train.py ...")
    one_line_errors(p)
    args = p.parse_args(argv)
    if not args.command:
        p.error("the training command is missing, e.g. python examples/mnist/train.py "
                "--kvstore dist_sync")
    if args.num_servers is None:
        args.num_servers = args.num_workers
    for flag in ("env_server", "env_worker"):
        for item in getattr(args, flag):
            if ":" not in item:
                p.error(f"--{flag.replace('_', '-')} {item!r}: expected NAME:VALUE, "
                        f"e.g. OMP_NUM_THREADS:1")
    try:
        args.command = resolve_command(args.command)
    except LaunchError as e:
        p.error(str(e))
    return args


def resolve_command(command):
    """`command` with its program as an absolute path (leading NAME=VALUE words kept)."""
    command = list(command)
    i = 0
    while i < len(command) and _ENV_ASSIGNMENT.match(command[i]):
        i += 1
    if i == len(command):
        raise LaunchError("the training command is missing after the environment assignments")
    program = command[i]
    if os.sep in program:
        if not os.path.isfile(program):
            raise LaunchError(f"{program}: no such program")
        command[i] = os.path.abspath(program)
    elif _PYTHON.match(program):
        command[i] = sys.executable
    else:
        found = shutil.which(program)
        if found is None:
            raise LaunchError(f"{program}: command not found on PATH")
        command[i] = os.path.abspath(found)
    return command


def _split_env(command):
    """(NAME=VALUE assignments as a dict, the rest of the command)."""
    env, i = {}, 0
    while i < len(command) and _ENV_ASSIGNMENT.match(command[i]):
        name, value = command[i].split("=", 1)
        env[name] = value
        i += 1
    return env, command[i:]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """One child process; its output is passed through and its last lines kept."""

    def __init__(self, name, command, env, out):
        self.name = name
        self.tail = collections.deque(maxlen=TAIL_LINES)
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read, args=(out,), daemon=True)
        self._reader.start()

    def _read(self, out):
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode(errors="replace")
            self.tail.append(line.rstrip("\n"))
            out.write(line)
            out.flush()
        self.proc.stdout.close()

    def poll(self):
        return self.proc.poll()

    def stop(self):
        """Terminates the process (and anything it started), killing it after 5 s."""
        if self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def finish_output(self):
        self._reader.join(timeout=5.0)


def run_local(args, out=None, err=None, shutdown_timeout=60.0):
    """Runs the scheduler, `args.num_servers` servers and `args.num_workers` workers on this
    machine; returns 0 when every worker succeeded and the servers shut down, else 1 (after
    stopping the others and printing the failed process's last lines)."""
    out = out or sys.stdout
    err = err or sys.stderr
    extra_env, command = _split_env(args.command)
    base = dict(os.environ)
    base.update(extra_env)
    base.update({"DMLC_NUM_WORKER": str(args.num_workers),
                 "DMLC_NUM_SERVER": str(args.num_servers),
                 "DMLC_PS_ROOT_URI": "127.0.0.1", "DMLC_PS_ROOT_PORT": str(_free_port()),
                 "DMLC_JOB_CLUSTER": "local"})
    if args.p3:
        base.update({"DMLC_PS_VAN_TYPE": "p3", "DMLC_PS_WATER_MARK": "10"})

    def env_for(role, task_id, pairs):
        env = dict(base, DMLC_ROLE=role)
        if task_id is not None:
            env["DMLC_TASK_ID"] = str(task_id)
        for pair in pairs:
            name, value = pair.split(":", 1)
            env[name] = value
        return env

    procs = [_Process("scheduler", command, env_for("scheduler", None, []), out)]
    for i in range(args.num_servers):
        procs.append(_Process(f"server {i}", command,
                              env_for("server", args.num_workers + i, args.env_server), out))
    workers = [_Process(f"worker {i}", command, env_for("worker", i, args.env_worker), out)
               for i in range(args.num_workers)]
    procs += workers

    failed, deadline = None, None
    try:
        while True:
            failed = next((p for p in procs if p.poll() not in (None, 0)), None)
            if failed is not None:
                break
            if all(p.poll() == 0 for p in procs):
                break
            if all(p.poll() == 0 for p in workers):
                # The servers and the scheduler end by themselves once every worker is done.
                deadline = deadline or time.monotonic() + shutdown_timeout
                if time.monotonic() > deadline:
                    failed = next(p for p in procs if p.poll() is None)
                    break
            time.sleep(0.1)
    except KeyboardInterrupt:
        for p in procs:
            p.stop()
        err.write("bmxnet launch: interrupted; stopped every process\n")
        return 130
    finally:
        if failed is not None:
            for p in procs:
                if p is not failed:
                    p.stop()
        for p in procs:
            p.finish_output()
    if failed is None:
        return 0
    status = failed.poll()
    what = (f"exited with status {status}" if status is not None and status >= 0 else
            f"was killed by signal {-status}" if status is not None else
            f"did not exit {shutdown_timeout:.0f} s after every worker had finished")
    failed.stop()
    err.write(f"bmxnet launch: {failed.name} {what}; stopped the other processes. "
              f"Its last lines:\n")
    for line in failed.tail:
        err.write(f"  | {line}\n")
    err.flush()
    return 1


def _run_mxnet_launcher(args):
    """MXNet's own launcher (remote launchers), with `args.command` already resolved."""
    import runpy

    import mxnet as mx

    if not hasattr(threading.Thread, "isAlive"):
        threading.Thread.isAlive = threading.Thread.is_alive
    script = os.path.join(os.path.dirname(mx.__file__), "tools", "launch.py")
    if not os.path.isfile(script):
        raise FileNotFoundError(f"MXNet's launcher is missing: {script}")
    argv = ["-n", str(args.num_workers), "-s", str(args.num_servers),
            "--launcher", args.launcher]
    if args.hostfile:
        argv += ["-H", args.hostfile]
    if args.sync_dst_dir:
        argv += ["--sync-dst-dir", args.sync_dst_dir]
    for flag in ("env_server", "env_worker", "env"):
        for item in getattr(args, flag):
            argv += ["--" + flag.replace("_", "-"), item]
    if args.p3:
        argv.append("--p3")
    old_argv, old_path = sys.argv, list(sys.path)
    sys.argv = [script] + argv + ["--"] + list(args.command)
    sys.path.insert(0, os.path.dirname(script))
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
    return 0


def launch(argv=None):
    """Runs a distributed job; `argv` as for ``bmxnet launch``. Returns the exit status."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.launcher == "local":
        return run_local(args)
    return _run_mxnet_launcher(args)
