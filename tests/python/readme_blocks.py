"""The code blocks of the user documentation (README.md, examples/README.md), read at test time.

A block is meant to run unless it is tagged ```` ```text ```` (a list of flags, a log line, a
file tree) or an HTML comment ``<!-- no-test: why -->`` stands on the line before its opening
fence (commands that need a dataset not in the repository, other machines, or minutes).
```` ```python ```` blocks are Python programs; the others are shell commands, one per line
(``\\`` continues a line, ``#`` starts a comment).
"""
import os
import re
import shlex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ("README.md", os.path.join("examples", "README.md"))
NO_TEST = re.compile(r"^<!--\s*no-test\b.*-->$")
_FENCE = re.compile(r"^```(\w*)\s*$")


class Block:
    def __init__(self, doc, line, language, text):
        self.doc, self.line, self.language, self.text = doc, line, language, text

    @property
    def id(self):
        return f"{self.doc}:{self.line}"

    def commands(self):
        """The shell commands of the block, comments dropped, continuations joined."""
        out, pending = [], ""
        for raw in self.text.splitlines():
            line = pending + raw
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1] + " "
                continue
            pending = ""
            words = shlex.split(line, comments=True)
            if words:
                out.append(words)
        return out


def blocks(docs=DOCS, root=ROOT):
    """Every fenced block meant to run, in document order."""
    found = []
    for doc in docs:
        with open(os.path.join(root, doc)) as f:
            lines = f.read().splitlines()
        i = 0
        while i < len(lines):
            m = _FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            start, language = i, m.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            skip = language == "text" or any(NO_TEST.match(lines[k].strip())
                                             for k in range(max(0, start - 2), start))
            if not skip:
                found.append(Block(doc, start + 1, language, "\n".join(lines[start + 1:j])))
            i = j + 1
    return found


def launch_commands(docs=DOCS):
    """The documented ``bmxnet launch ... --launcher local`` commands (of `docs`)."""
    return [cmd for b in blocks(docs) if b.language != "python" for cmd in b.commands()
            if any(w.endswith("bmxnet") for w in cmd[:1]) and "launch" in cmd
            and "local" in cmd]


def sandbox(tmp_path, root=ROOT):
    """A folder that looks like the repository root (every top-level entry linked, `out/`
    left out), so that documented commands run from the root write into `tmp_path`."""
    for name in os.listdir(root):
        if name in ("out", ".git"):
            continue
        os.symlink(os.path.join(root, name), os.path.join(str(tmp_path), name))
    return str(tmp_path)


def fresh_shell_env(env=None):
    """`env` (default os.environ) as a new shell in the repository root has it: the virtual
    environment not activated, so `bmxnet`, `model-converter` and `python` are not .venv's
    unless a command names them as `.venv/bin/...`."""
    import sys

    env = dict(os.environ if env is None else env)
    venv_bins = {os.path.dirname(sys.executable), os.path.join(ROOT, ".venv", "bin")}
    if env.get("VIRTUAL_ENV"):
        venv_bins.add(os.path.join(env.pop("VIRTUAL_ENV"), "bin"))
    venv_bins = {os.path.realpath(p) for p in venv_bins}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and os.path.realpath(p) not in venv_bins)
    return env


def program(word):
    """The executable a documented command word stands for when run by this test's Python:
    ``python`` is this interpreter, ``.venv/bin/NAME`` and bare ``bmxnet`` / ``model-converter``
    the scripts installed next to it."""
    import sys

    bin_dir = os.path.dirname(sys.executable)
    if word in ("python", "python3") or word == ".venv/bin/python":
        return sys.executable
    name = word[len(".venv/bin/"):] if word.startswith(".venv/bin/") else word
    if name in ("bmxnet", "model-converter") and os.path.isfile(os.path.join(bin_dir, name)):
        return os.path.join(bin_dir, name)
    return word
