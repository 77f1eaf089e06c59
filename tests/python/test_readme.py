"""Every code block of README.md and examples/README.md that is meant to run (see
readme_blocks.py for how a block is marked otherwise) runs, in document order, from a copy of
the repository root, as a newcomer would paste it into a fresh shell (.venv not activated:
commands name `.venv/bin/...`), with BMXNET_STEPS_PER_EPOCH cutting each training epoch to a few
batches. `bmxnet launch` lines are run by test_distributed.py."""
import os
import shutil
import subprocess
import sys

import pytest

from readme_blocks import ROOT, blocks, fresh_shell_env, launch_commands, sandbox


def _is_launch(words):
    return os.path.basename(words[0]) == "bmxnet" and words[1:2] == ["launch"]


def test_the_documented_blocks_are_found():
    found = blocks()
    languages = {b.language for b in found}
    assert "python" in languages and "sh" in languages, languages
    assert launch_commands(), "no local `bmxnet launch` line in the docs"
    for b in found:
        if b.language != "python":
            assert b.commands(), f"{b.id}: an empty block"


def test_documented_commands_run_without_activating_the_venv():
    """`bmxnet ...` pasted into a new shell is "command not found": each command's program is
    a path from the repository root (`.venv/bin/bmxnet`, `build/cmake/bmx_run`) or a system
    one on a PATH without .venv/bin."""
    path = fresh_shell_env()["PATH"]
    for block in blocks():
        if block.language == "python":
            continue
        for words in block.commands():
            word = words[0]
            if "/" in word:
                assert word.startswith((".venv/bin/", "build/")) or os.path.exists(
                    os.path.join(ROOT, word)), f"{block.id}: {word}"
            else:
                assert word not in ("python", "python3", "bmxnet", "model-converter", "pip"), (
                    f"{block.id}: `{word}` is .venv's only once it is activated; write "
                    f".venv/bin/{word}")
                assert shutil.which(word, path=path), f"{block.id}: {word} not on PATH"


def test_every_documented_block_runs(tmp_path):
    root = sandbox(tmp_path)
    # The commands run as written, from a fresh shell (.venv/bin not on PATH), each training
    # epoch cut to a few batches.
    env = dict(fresh_shell_env(), BMXNET_STEPS_PER_EPOCH="3")
    ran = 0
    for block in blocks():
        if block.language == "python":
            runs = [[sys.executable, "-c", block.text]]
        else:
            runs = [words for words in block.commands() if not _is_launch(words)]
        for cmd in runs:
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=600)
            shown = block.text if block.language == "python" else " ".join(cmd)
            assert proc.returncode == 0, (f"{block.id}: {shown}\n{proc.stdout[-2000:]}\n"
                                          f"{proc.stderr[-3000:]}")
            assert "Traceback" not in proc.stderr, f"{block.id}: {shown}\n{proc.stderr[-3000:]}"
            # MXNet's warning for an input declared without a dtype (SymbolBlock.imports)
            assert "Cannot decide type" not in proc.stderr, f"{block.id}: {proc.stderr[-3000:]}"
            ran += 1
    assert ran >= 8
    # what the blocks promised exists
    for path in ("out/model-symbol.json", "out/binarized_model-0000.params",
                 "out/mnist/binarized_binary_lenet-symbol.json"):
        assert os.path.isfile(os.path.join(root, path)), path
    # and everything they wrote is under out/ (ignored by git), not loose in the root
    left = [name for name in os.listdir(root)
            if name != "out" and not os.path.islink(os.path.join(root, name))]
    assert not left, f"the documented commands left {left} in the repository root"


def test_git_ignores_every_out_folder(tmp_path):
    """Outputs go to out/: the root's (the README's commands) and one made by running a
    training script from its own folder (examples/mnist/out/)."""
    if not os.path.exists(os.path.join(ROOT, ".git")):
        pytest.skip("not a git checkout")
    for path in ("out/model-symbol.json", "examples/mnist/out/mnist/binary_lenet-0000.params"):
        proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
        assert proc.returncode == 0, f"{path} is not ignored by git"


def test_the_readme_says_what_fetches_packages():
    """`make runtime-aarch64` runs apt-get download and `make web-models` npm install: the
    README names each target that fetches packages, with the registry, and lists npm among the
    web page's dependencies."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = " ".join(f.read().split())
    sources = {}
    for name in ("Makefile", "web/web.mk", "tools/aarch64_sysroot.sh"):
        with open(os.path.join(ROOT, name)) as f:
            sources[name] = f.read()
    for fetch, where, target, registry in (
            ("pip install", "Makefile", "make install", "PyPI"),
            ("apt-get \"${apt_opts[@]}\" download", "tools/aarch64_sysroot.sh",
             "make runtime-aarch64", "Debian mirror"),
            ("npm install", "web/web.mk", "make web-models", "npm registry")):
        assert fetch in sources[where], (where, fetch)  # what the README describes is so
        sentence = readme[readme.index("What fetches packages"):]
        sentence = sentence[:sentence.index("Nothing else is downloaded")]
        assert f"`{target}`" in sentence and registry in sentence, (target, registry)
    assert "apt-get install emscripten node-acorn nodejs npm" in readme
