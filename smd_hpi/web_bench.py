#!/usr/bin/env python
"""make bench-web: bmxnet's binary ResNet-18 in the browser against the float one.

In headless Chromium, one page (smd_hpi/web/bench.html), 1 thread, batch 1, 224 x 224: the
converted binary_resnet18_v1 through bmxnet's WebAssembly runtime (SIMD128) against gluon-cv's
float resnet18_v1 exported to ONNX (weights removed from the graph inputs) run by
onnxruntime-web's SIMD WebAssembly backend; medians of interleaved runs. Also the native
x86-64 runtime on the same converted files (1 thread), and the size of bmxnet.mjs + .wasm,
gzipped. Needs `make web web-models`.

    python smd_hpi/web_bench.py --runs 10 --json out/bench/web_bench.json
"""
import argparse
import gzip
import importlib.util
import json
import os
import shutil
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS = os.path.join(ROOT, "out", "web", "models")


def gzipped_size(paths):
    return sum(len(gzip.compress(open(p, "rb").read(), 9)) for p in paths)


def browser_times(runs):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    spec = importlib.util.spec_from_file_location("web_serve",
                                                  os.path.join(ROOT, "examples", "web", "serve.py"))
    serve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(serve)
    server, url = serve.serve_in_background()
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(f"{url}bench/bench.html?runs={runs}")
        WebDriverWait(driver, 600, poll_frequency=0.5).until(
            lambda d: d.execute_script("return window.benchResult"))
        result = driver.execute_script("return window.benchResult")
    finally:
        driver.quit()
        server.shutdown()
    if "error" in result:
        raise SystemExit(f"the benchmark page failed: {result['error']}")
    return result


def native_ms(runs):
    from bmxnet import runtime

    info = json.load(open(os.path.join(MODELS, "models.json")))
    shape = tuple(info["resnet18"]["input_shape"])
    x = np.sin(np.arange(np.prod(shape)) * 0.37).astype(np.float32).reshape(shape)
    with runtime.Predictor((os.path.join(MODELS, "resnet18-symbol.json"),
                            os.path.join(MODELS, "resnet18.params")), shape, threads=1) as pred:
        for _ in range(3):
            pred.predict(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            pred.predict(x)
            times.append((time.perf_counter() - t0) * 1e3)
        return float(np.median(times)), pred.plan["isa"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", default=None, help="write the figures here")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    needed = [os.path.join(ROOT, "build", "web", f) for f in ("bmxnet.mjs", "bmxnet.wasm")]
    needed.append(os.path.join(MODELS, "models.json"))
    missing = [f for f in needed if not os.path.exists(f)]
    if missing:
        print(f"missing {', '.join(missing)}: run `make web web-models` first", file=sys.stderr)
        return 2
    web = browser_times(args.runs)
    native, native_isa = native_ms(args.runs)
    size = gzipped_size(needed[:2])
    result = {
        "binary_wasm_ms": web["binary_ms"], "float_onnxruntime_web_ms": web["float_ms"],
        "speedup_vs_float": web["float_ms"] / web["binary_ms"],
        "native_ms": native, "native_isa": native_isa, "wasm_isa": web["isa"],
        "wasm_over_native": web["binary_ms"] / native,
        "module_gzip_bytes": size, "runs": args.runs, "browser": web["user_agent"],
    }
    print(f"ResNet-18, 224x224, batch 1, 1 thread, medians of {args.runs} runs:")
    print(f"  binary, bmxnet WebAssembly ({web['isa']}), Chromium:  {web['binary_ms']:8.1f} ms")
    print(f"  float, onnxruntime-web (wasm SIMD), Chromium:      {web['float_ms']:8.1f} ms"
          f"   -> binary is {result['speedup_vs_float']:.1f}x faster")
    print(f"  binary, native x86-64 runtime ({native_isa}):          {native:8.1f} ms"
          f"   -> WebAssembly / native = {result['wasm_over_native']:.2f}")
    print(f"  bmxnet.mjs + bmxnet.wasm gzipped: {size / 1024:.0f} KiB")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
