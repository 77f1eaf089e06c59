"""Every code block of README.md and examples/README.md that is meant to run (see
readme_blocks.py for how a block is marked otherwise) runs, in document order, from a copy of
the repository root, as a newcomer would paste it, with BMXNET_STEPS_PER_EPOCH cutting each
training epoch to a few batches. `bmxnet launch` lines are run by test_distributed.py."""
import os
import subprocess
import sys

import pytest

from readme_blocks import blocks, launch_commands, program, sandbox


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


def test_every_documented_block_runs(tmp_path):
    root = sandbox(tmp_path)
    # The training commands run as written, each epoch cut to a few batches.
    env = dict(os.environ, BMXNET_STEPS_PER_EPOCH="3")
    ran = 0
    for block in blocks():
        if block.language == "python":
            runs = [[sys.executable, "-c", block.text]]
        else:
            runs = [[program(words[0])] + words[1:] for words in block.commands()
                    if not _is_launch(words)]
        for cmd in runs:
            proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=600)
            shown = block.text if block.language == "python" else " ".join(cmd)
            assert proc.returncode == 0, (f"{block.id}: {shown}\n{proc.stdout[-2000:]}\n"
                                          f"{proc.stderr[-3000:]}")
            assert "Traceback" not in proc.stderr, f"{block.id}: {shown}\n{proc.stderr[-3000:]}"
            ran += 1
    assert ran >= 8
    # what the blocks promised exists
    for path in ("model-symbol.json", "binarized_model-0000.params",
                 "out/mnist/binarized_binary_lenet-symbol.json"):
        assert os.path.isfile(os.path.join(root, path)), path
