"""Smoke test of `python -m bmxnet.benchmark`: a quick dense-only run writes a JSON with the
recorded machine, the rows and their targets and a PNG chart, and --from-json reprints it."""
import json
import os
import subprocess
import sys

import bmxnet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_dense_run_writes_json_and_png(tmp_path):
    out_json, out_png = tmp_path / "bench.json", tmp_path / "bench.png"
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"),
               BMXNET_LIBRARY=bmxnet.library_path())
    cmd = [sys.executable, "-m", "bmxnet.benchmark", "--quick", "--threads", "1", "--repeat", "2",
           "--only", "dense", "--json", str(out_json), "--png", str(out_png)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "dense K=N=4096" in proc.stdout and "targets met" in proc.stdout
    saved = json.loads(out_json.read_text())
    assert saved["meta"]["cpu"] and saved["meta"]["threads"] == [1] and saved["meta"]["isa"]
    rows = saved["rows"]
    assert [(r["kind"], r["batch"], r["threads"]) for r in rows] == [("dense", 1, 1), ("dense", 8, 1)]
    for r in rows:
        assert r["ours"] > 0 and r["mxnet"] > 0 and r["target"] == 8.0
        assert abs(r["ratio"] - r["mxnet"] / r["ours"]) < 1e-9 * r["ratio"] + 1e-12
        assert r["ours_gmacs"] > 0 and r["mxnet_gmacs"] > 0
    assert out_png.stat().st_size > 10_000
    again = subprocess.run([sys.executable, "-m", "bmxnet.benchmark", "--from-json", str(out_json)],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "dense K=N=4096" in again.stdout, again.stderr[-2000:]
