"""The converter's files: reading the exported model, naming and atomically writing the output."""

import json
import os
import re
import signal
import tempfile
import time
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

from .. import params_io
from ..model_files import EPOCH_RE, ModelFilesError, model_files, require_file
from .errors import ConversionError
from .params import Params
from .symbol import parse_symbol

def read_model(symbol_path: str, params_path: str):
    """(graph, params, symbol file size, params file size) of an exported model."""
    try:
        for path in (symbol_path, params_path):
            require_file(path)
    except ModelFilesError as e:
        raise ConversionError(str(e)) from None
    try:
        with open(symbol_path, "rb") as f:
            sym_bytes = f.read()
        with open(params_path, "rb") as f:
            params_bytes = f.read()
    except OSError as e:
        raise ConversionError(f"cannot read {e.filename}: {e.strerror}; check its permissions")
    if not sym_bytes.strip():
        raise ConversionError(f"{symbol_path} is empty; re-export the model with "
                              "HybridBlock.export")
    try:
        sym = json.loads(sym_bytes.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConversionError(f"{symbol_path} is not text (not UTF-8), so not an MXNet symbol "
                              "file; pass the PREFIX-symbol.json written by HybridBlock.export")
    except (json.JSONDecodeError, RecursionError) as e:
        detail = f"line {e.lineno} column {e.colno}: {e.msg}" if hasattr(e, "lineno") else "too deep"
        raise ConversionError(f"{symbol_path} is not valid JSON ({detail}); pass the "
                              "PREFIX-symbol.json written by HybridBlock.export") from None
    graph = parse_symbol(sym, symbol_path)
    if not params_bytes:
        raise ConversionError(f"{params_path} is empty; re-export the model with "
                              "HybridBlock.export")
    try:
        loaded = params_io.loads(params_bytes, source=params_path)
    except params_io.ParamsFormatError as e:
        raise ConversionError(f"{str(e).rstrip('.')}; pass the PREFIX-NNNN.params written by "
                              "HybridBlock.export") from None
    if isinstance(loaded, list):
        if loaded:
            raise ConversionError(f"{params_path} holds arrays without names, not the parameters "
                                  "of a model; pass the PREFIX-NNNN.params written by "
                                  "HybridBlock.export")
        loaded = OrderedDict()
    return graph, Params(loaded, params_path), len(sym_bytes), len(params_bytes)


def output_paths(symbol_path: str, params_path: str, out_prefix: Optional[str]):
    match = EPOCH_RE.match(os.path.basename(params_path))
    epoch = match.group("epoch") if match else "0000"
    if out_prefix is None:
        if match:
            prefix = match.group("prefix")
        else:
            prefix = re.sub(r"(-symbol)?\.json$", "", os.path.basename(symbol_path))
        out_prefix = os.path.join(os.path.dirname(params_path), f"binarized_{prefix}")
    return f"{out_prefix}-symbol.json", f"{out_prefix}-{epoch}.params"


def same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)

def check_out_prefix(out_prefix):
    """`out_prefix` as a str (None stays None), refused when it names no file."""
    if out_prefix is not None:
        out_prefix = os.fspath(out_prefix)
        if not out_prefix or out_prefix.endswith(os.sep):
            raise ConversionError(f"the output prefix {out_prefix!r} has no file name part; "
                                  "pass -o DIR/NAME")
    return out_prefix


def check_outputs(outputs: Sequence[str], inputs: Sequence[str]):
    """Refuse outputs that would overwrite an input or whose directory cannot be made (a
    missing directory is created when the files are written)."""
    for out in outputs:
        if any(same_file(out, inp) for inp in inputs):
            raise ConversionError(f"the output {out} would overwrite the input; choose another "
                                  "output prefix with -o OUT_PREFIX")
    out_dir = os.path.dirname(os.path.abspath(outputs[0]))
    existing = out_dir
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConversionError(f"cannot write {outputs[0]}: {existing} is not a directory; "
                              "choose another output prefix with -o DIR/NAME")


def make_output_dir(path: str):
    """Creates the directory of `path` (and its parents) when missing."""
    out_dir = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise ConversionError(f"cannot write {path}: cannot create {out_dir} "
                              f"({e.strerror or e}); choose another output prefix with "
                              "-o DIR/NAME") from None


# Test hook: BMXNET_CONVERTER_KILL_AT=<step> makes the converter SIGKILL itself when it reaches
# that step of write_atomically, so that tests can check what a crash at each step leaves.
KILL_AT_ENV = "BMXNET_CONVERTER_KILL_AT"
# Temporaries are named .tmp-<writer pid>-<8 random chars>-<output file name>; files of earlier
# converters (no pid) are recognised too.
_TEMP_RE = re.compile(r"^\.tmp-(?:(?P<pid>\d+)-)?[a-z0-9_]{8}-(?P<name>.+)$")
# A temporary whose writer is alive is left alone unless it is older than this: its pid may
# belong to another program by now, and no write keeps a temporary unrenamed for that long.
STALE_TEMP_SECONDS = 600.0


def _step(name: str):
    if os.environ.get(KILL_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (or no such pid at all)
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(paths: Sequence[str], now: Optional[float] = None):
    """Removes the temporaries that earlier runs writing `paths` left behind (killed before
    their renames): those whose writer is dead, or older than STALE_TEMP_SECONDS."""
    now = time.time() if now is None else now
    by_dir = {}
    for path in paths:
        by_dir.setdefault(os.path.dirname(os.path.abspath(path)), set()).add(os.path.basename(path))
    for directory, names in by_dir.items():
        try:
            entries = os.listdir(directory)
        except OSError:
            continue  # no folder yet: nothing left behind
        for entry in entries:
            match = _TEMP_RE.match(entry)
            if not match or match.group("name") not in names:
                continue
            tmp = os.path.join(directory, entry)
            pid = match.group("pid")
            try:
                if pid is not None and int(pid) == os.getpid():
                    continue
                dead = pid is not None and not _pid_alive(int(pid))
                if dead or now - os.lstat(tmp).st_mtime > STALE_TEMP_SECONDS:
                    os.unlink(tmp)
            except OSError:
                pass  # gone already, or not ours to remove


def _fsync_dir(directory: str):
    """Makes the renames in `directory` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync folders; the renames are still atomic
    finally:
        os.close(fd)


def _kind(path: str) -> str:
    return "symbol" if path.endswith(".json") else "params"


def write_atomically(files: Sequence[Tuple[str, bytes]]):
    """Write every file to a temp file beside it and fsync it, then os.replace them in the
    given order and fsync the folder: a crash leaves each file old or new, never partial.
    Temporaries that earlier, killed runs left for these files are removed first. The files
    are replaced one after the other, so a crash between two renames leaves new and old files
    side by side; the converter names the symbol first and records the params id in it, so
    readers refuse that pair (bmxnet.pairing)."""
    temps, done, path = [], [], files[0][0]
    remove_stale_temporaries([p for p, _ in files])
    umask = os.umask(0)
    os.umask(umask)
    try:
        for path, data in files:
            directory = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".tmp-{os.getpid()}-",
                                       suffix="-" + os.path.basename(path))
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                _step(f"write-{_kind(path)}")
                os.fsync(f.fileno())
                _step(f"fsync-{_kind(path)}")
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        for (path, _), tmp in zip(files, temps):
            os.replace(tmp, path)
            done.append(path)
            _step(f"rename-{_kind(path)}")
        for directory in sorted({os.path.dirname(os.path.abspath(p)) for p, _ in files}):
            _fsync_dir(directory)
        _step("fsync-dir")
    except OSError as e:
        for leftover in temps + done:
            try:
                os.unlink(leftover)
            except OSError:
                pass
        raise ConversionError(f"cannot write {path}: {e.strerror or e}; choose a writable "
                              "output location with -o OUT_PREFIX") from None


def input_paths(files: List[str]) -> Tuple[str, str]:
    """(symbol, params) of the converter's arguments: PREFIX-NNNN.params (the symbol beside
    it) or both files; see bmxnet.model_files."""
    try:
        return model_files(files[0] if len(files) == 1 else files)
    except ModelFilesError as e:
        raise ConversionError(str(e)) from None
