"""examples/demo.py (make demo) prints one line per step saying what it did, then one line with
the checks' verdict: the training's epoch lines go to its log, the converter's table stays off."""
import importlib.util
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_demo():
    spec = importlib.util.spec_from_file_location("demo", os.path.join(ROOT, "examples", "demo.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def quick_demo(monkeypatch):
    """demo.py on its quick path: 1 epoch (--epochs 1) over the first 300 training images."""
    demo = load_demo()
    mnist = demo.load_mnist_example()
    parse_args = mnist.parse_args
    monkeypatch.setattr(mnist, "parse_args", lambda argv: parse_args(argv + ["--train-count", "300"]))
    monkeypatch.setattr(demo, "load_mnist_example", lambda: mnist)
    return demo


def test_demo_prints_one_line_per_step(quick_demo, tmp_path, capsys):
    status = quick_demo.main(["--out", str(tmp_path), "--epochs", "1"])
    lines = capsys.readouterr().out.splitlines()
    steps = quick_demo.STEPS
    assert len(lines) == steps + 1, lines
    for number, line in enumerate(lines[:steps], 1):
        assert re.match(rf"{number}/{steps} \S", line), line
    assert "accuracy" in lines[0] and os.path.join(str(tmp_path), "train.log") in lines[0]
    assert re.search(r"2 binary layers packed 32x \([\d,]+ -> [\d,]+ weight bytes\)", lines[1])
    assert "in Python" in lines[2] and "from C" in lines[3]
    for line in lines[2:4]:
        assert re.search(r"top-1 as trained 1000/1000, max rel\. diff", line), line
    # 300 images and one epoch fall short of the accuracy bar; every other check passes.
    assert lines[-1] == "FAILED: accuracy >= 0.95" and status == 1
    with open(tmp_path / "train.log") as f:
        assert "epoch 1/1" in f.read()

