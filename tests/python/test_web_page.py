"""The browser demo (examples/web) in headless Chromium, driven as a user drives it.

The page is served from 127.0.0.1; twenty digits of the bundled MNIST sample are drawn into
the pad with pointer events (Selenium actions: press, move, release), and the prediction the
page shows must be the x86-64 runtime's prediction of the 28 x 28 input the page made from
the pad. A screenshot of what the user sees goes to out/web/demo.png. After the binary ResNet-18
has run on a picked image, its per-layer profile is a collapsible table with one row per step of
the runtime's plan (the x86-64 runtime's steps on the same files) and shares that sum to 100%.
A wrong model file chosen on the page must show its error on the page.
"""
import gzip
import importlib.util
import json
import os
import shutil

import numpy as np
import pytest

from bmxnet import runtime

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "out", "web", "models")
SCREENSHOT = os.path.join(ROOT, "out", "web", "demo.png")
DIGITS = 20


def _load_serve():
    spec = importlib.util.spec_from_file_location(
        "web_serve", os.path.join(ROOT, "examples", "web", "serve.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver")
    if chromium is None or driver_exe is None:
        pytest.skip("chromium / chromedriver are not installed (apt-get install -y chromium "
                    "chromium-driver): the browser tests are skipped")
    missing = [p for p in ("build/web/bmxnet.mjs", "out/web/models/models.json")
               if not os.path.exists(os.path.join(ROOT, p))]
    if missing:
        if shutil.which("em++") is None:
            pytest.skip("emscripten is not installed: the WebAssembly module is not built")
        pytest.fail(f"missing {', '.join(missing)}: run `make web web-models` (make test does)")
    server, url = _load_serve().serve_in_background()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1000,1300"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_exe), options=options)
    try:
        driver.set_script_timeout(120)
        driver.get(url)
        _wait(driver, "return window.bmxDemo && (window.bmxDemo.ready || "
                      "window.bmxDemo.errors.length > 0)", 120)
        errors = driver.execute_script("return window.bmxDemo.errors")
        assert not errors, f"the page reported: {errors}"
        yield driver
    finally:
        driver.quit()
        server.shutdown()


def _wait(driver, script, timeout):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: d.execute_script(script))


def _mnist_sample(count):
    """The last `count` images of the bundled sample (held out from training) and labels."""
    data = os.path.join(ROOT, "examples", "mnist", "data")
    with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(os.path.join(data, "train-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images[-count:], labels[-count:]


def _draw(driver, pad, image):
    """Draws the bright pixels of a 28 x 28 image as horizontal strokes, row by row, with a
    mouse pointer (press, move, release), at the pad's size on screen."""
    from selenium.webdriver.common.action_chains import ActionChains

    size = pad.size["width"]
    cell = size / 28.0
    actions = ActionChains(driver, duration=0)
    for y in range(28):
        x = 0
        while x < 28:
            if image[y, x] < 128:
                x += 1
                continue
            start = x
            while x < 28 and image[y, x] >= 128:
                x += 1
            # offsets from the pad's centre, as Selenium measures them
            y_off = (y + 0.5) * cell - size / 2
            x0, x1 = (start + 0.5) * cell - size / 2, (x - 0.5) * cell - size / 2
            actions.move_to_element_with_offset(pad, int(x0), int(y_off)).click_and_hold()
            actions.move_to_element_with_offset(pad, int(x1), int(y_off)).release()
    actions.perform()


def test_drawn_digits_are_classified_as_the_runtime_does(page):
    from selenium.webdriver.common.by import By

    images, labels = _mnist_sample(DIGITS)
    pad = page.find_element(By.ID, "pad")
    predictor = runtime.Predictor((os.path.join(MODELS, "lenet-symbol.json"),
                                   os.path.join(MODELS, "lenet.params")), (1, 1, 28, 28),
                                  threads=1)
    correct = 0
    with predictor:
        for image, label in zip(images, labels):
            page.find_element(By.ID, "clear").click()
            before = page.execute_script("return window.bmxDemo.predictions")
            _draw(page, pad, image)
            _wait(page, f"return window.bmxDemo.predictions > {before} && "
                        "window.bmxDemo.lastTop !== null", 30)
            state = page.execute_script(
                "const d = window.bmxDemo; return {x: d.lastInput, out: d.lastOutput, "
                "shown: document.querySelector('#top3 li').dataset.digit}")
            x = np.asarray(state["x"], np.float32).reshape(1, 1, 28, 28)
            assert x.max() > 0.5, "the page made an empty input from the drawing"
            expected = predictor.predict(x)
            shown = int(state["shown"])
            assert shown == int(expected.argmax()), (shown, expected)
            np.testing.assert_allclose(np.asarray(state["out"], np.float32).reshape(expected.shape),
                                       expected, rtol=0, atol=1e-4 * float(np.abs(expected).max()))
            correct += shown == int(label)
    print(f"\n{correct} of {DIGITS} drawn MNIST digits classified as their label")

    # What a user sees: the last digit and the ResNet-18 panel after picking an image.
    _pick_image(page)
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    page.save_screenshot(SCREENSHOT)


def _pick_image(page):
    """Picks a picture for the ResNet-18 panel, once, and waits for the binary model's time."""
    from selenium.webdriver.common.by import By

    if page.execute_script("return document.getElementById('rn-time').textContent !== '–'"):
        return
    image_path = os.path.join(ROOT, "out", "web", "picked.png")
    _write_picture(image_path)
    page.find_element(By.ID, "image").send_keys(image_path)
    _wait(page, "return document.getElementById('rn-time').textContent !== '–' || "
                "!document.getElementById('resnet-error').hidden", 120)


def _write_picture(path):
    """A 224 x 224 colour picture (gradient and disc) for the ResNet-18 panel."""
    from PIL import Image

    yy, xx = np.mgrid[0:224, 0:224]
    rgb = np.stack([xx, yy, 255 - xx], axis=-1).astype(np.uint8)
    rgb[(xx - 112) ** 2 + (yy - 112) ** 2 < 60 ** 2] = (250, 200, 40)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(rgb).save(path)


def test_no_favicon_request_and_the_preview_is_labelled(page):
    """The page declares its (empty) icon, so the browser asks for no /favicon.ico (a 404 in
    the console), and the 28 x 28 preview of what the model sees has a visible label."""
    icon = page.execute_script("var l = document.querySelector('link[rel~=\"icon\"]');"
                               "return l && l.getAttribute('href');")
    assert icon and icon.startswith("data:")
    label = page.execute_script(
        "var id = document.getElementById('seen').getAttribute('aria-labelledby');"
        "var el = id && document.getElementById(id);"
        "if (!el) return null; var r = el.getBoundingClientRect();"
        "return r.width > 0 && r.height > 0 ? el.innerText : '';")
    assert label and "28" in label, label


def test_a_wrong_model_file_shows_its_error(page, tmp_path):
    from selenium.webdriver.common.by import By

    symbol = tmp_path / "wrong-symbol.json"
    symbol.write_text('{"nodes": [{"op": "null", "name": "data", "inputs": []}], "heads": []}')
    params = tmp_path / "wrong.params"
    params.write_bytes(b"not a params file")
    page.execute_script("document.querySelector('details.own-model').open = true")
    page.find_element(By.ID, "own-symbol").send_keys(str(symbol))
    page.find_element(By.ID, "own-params").send_keys(str(params))
    page.find_element(By.ID, "own-load").click()
    _wait(page, "return !document.getElementById('digit-error').hidden", 30)
    text = page.find_element(By.ID, "digit-error").text
    assert text.startswith("bmxnet: "), text
    assert "heads" in text or "params" in text, text


def test_the_resnet_profile_table(page):
    """The binary ResNet-18's profile on the page: collapsed until opened, one row per step of
    the plan (the x86-64 runtime profiles the same files into the same steps, in the same
    order, with the same ops and output shapes), shares that sum to ~100%, and totals per kind
    (binary, float, data movement) that add up to the rows."""
    from selenium.webdriver.common.by import By

    _pick_image(page)
    assert page.find_element(By.ID, "resnet-error").get_attribute("hidden") is not None, \
        page.find_element(By.ID, "resnet-error").text
    details = page.find_element(By.ID, "rn-profile")
    assert details.tag_name == "details" and details.is_displayed()
    assert details.get_attribute("open") is None  # collapsed until the user opens it
    rows_el = page.find_element(By.ID, "rn-profile-rows")
    assert not rows_el.is_displayed()
    page.find_element(By.CSS_SELECTOR, "#rn-profile summary").click()
    assert rows_el.is_displayed()

    table = page.execute_script(
        "return Array.from(document.querySelectorAll('#rn-profile-rows tr'), "
        "(tr) => Array.from(tr.cells, (td) => td.textContent))")
    totals = page.execute_script(
        "return Array.from(document.querySelectorAll('#rn-profile-totals tr'), "
        "(tr) => Array.from(tr.cells, (td) => td.textContent))")
    with open(os.path.join(MODELS, "models.json")) as f:
        shape = tuple(json.load(f)["resnet18"]["input_shape"])
    predictor = runtime.Predictor((os.path.join(MODELS, "resnet18-symbol.json"),
                                   os.path.join(MODELS, "resnet18.params")), shape, threads=1)
    with predictor:
        steps, _ = predictor.profile(np.zeros(shape, np.float32))
    assert len(table) == len(steps) > 20
    prefix = page.execute_script("return document.getElementById('rn-profile-rows').dataset.prefix")
    for i, (cells, step) in enumerate(zip(table, steps)):
        number, node, op, kernel, output, macs, time, share = cells
        assert (int(number), prefix + node, op) == (i + 1, step["node"], step["op"]), \
            (cells, step)
        assert output == ",".join(str(d) for d in step["output_shape"]), (cells, step)
        assert macs.endswith(" binary") == (step["binary_macs"] > 0), (cells, step)
        assert macs.endswith(" float") == (step["binary_macs"] == 0 < step["float_macs"]), \
            (cells, step)
        assert (macs == "–") == (step["binary_macs"] == step["float_macs"] == 0), (cells, step)
        if step["kind"] == "binary":
            assert kernel.startswith("binary-"), cells
        assert time.endswith(" ms") and share.endswith("%"), cells
    shown = [float(cells[-1].rstrip("%")) for cells in table]
    assert abs(sum(shown) - 100) <= 0.05 * len(shown) + 1e-6, sum(shown)  # each rounded to 0.1
    state = page.execute_script("return window.bmxDemo.profile")
    assert abs(sum(row["share"] for row in state["rows"]) - 1) < 1e-9

    assert [cells[0] for cells in totals] == ["binary layers", "float layers", "data movement"]
    kinds = ("binary", "float", "data")
    for cells, kind in zip(totals, kinds):
        assert int(cells[1]) == sum(step["kind"] == kind for step in steps), (cells, kind)
    assert sum(int(cells[1]) for cells in totals) == len(table)
    assert abs(sum(float(cells[-1].rstrip("%")) for cells in totals) - 100) <= 0.2
    summary = page.find_element(By.CSS_SELECTOR, "#rn-profile summary").text
    assert f"{len(steps)} steps" in summary, summary
    page.find_element(By.CSS_SELECTOR, "#rn-profile summary").click()  # closed again
