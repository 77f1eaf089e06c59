// The browser demo: a binary LeNet classifies what is drawn on the pad, live; a binary
// ResNet-18 and the float one (onnxruntime-web) time themselves on a picked image, and the
// binary one's per-layer profile fills a collapsible table.
// Plain ES module, no build step. window.bmxDemo exposes the state the tests read.
import { load } from "./bmxnet/bmxnet.mjs";

const $ = (id) => document.getElementById(id);
const demo = { ready: false, predictions: 0, lastInput: null, lastTop: null, errors: [] };
window.bmxDemo = demo;

const kb = (bytes) => bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(0)} KB`;
const ms = (t) => t >= 10 ? `${t.toFixed(0)} ms` : `${t.toFixed(2)} ms`;

function showError(id, err) {
  const el = $(id);
  el.textContent = err && err.message ? err.message : String(err);
  el.hidden = false;
  demo.errors.push(el.textContent);
}

function hideError(id) { $(id).hidden = true; }

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; run \`make web-models\` to write the demo's models`);
  return new Uint8Array(await r.arrayBuffer());
}

async function fetchText(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; run \`make web-models\` to write the demo's models`);
  return r.text();
}

// ---- the drawing pad ------------------------------------------------------------------

const pad = $("pad");
const ctx = pad.getContext("2d", { willReadFrequently: true });
let lenet = null;
let drawing = null;   // the pointer id drawing now
let last = null;
let scheduled = false;

function clearPad() {
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, pad.width, pad.height);
  $("seen").getContext("2d").clearRect(0, 0, 28, 28);
  $("top3").innerHTML = "";
  demo.lastTop = null;
  demo.lastInput = null;
}

function padPoint(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}

function stroke(from, to) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 22;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(from[0], from[1]);
  ctx.lineTo(to[0], to[1]);
  ctx.stroke();
}

pad.addEventListener("pointerdown", (e) => {
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  drawing = e.pointerId;
  last = padPoint(e);
  stroke(last, last);
  schedulePredict();
});
pad.addEventListener("pointermove", (e) => {
  if (drawing !== e.pointerId) return;
  const p = padPoint(e);
  stroke(last, p);
  last = p;
  schedulePredict();
});
const endStroke = (e) => {
  if (drawing !== e.pointerId) return;
  drawing = null;
  predictDigit();
};
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);
$("clear").addEventListener("click", clearPad);

function schedulePredict() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => { scheduled = false; predictDigit(); });
}

// The pad as MNIST presents digits: the drawing's bounding box scaled into 20 x 20, centred
// by its centre of mass in 28 x 28, pixels / 255. Returns null for an empty pad.
function padInput() {
  const { data } = ctx.getImageData(0, 0, pad.width, pad.height);
  let x0 = pad.width, y0 = pad.height, x1 = -1, y1 = -1;
  for (let y = 0; y < pad.height; ++y) {
    for (let x = 0; x < pad.width; ++x) {
      if (data[(y * pad.width + x) * 4] > 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1, h = y1 - y0 + 1, s = 20 / Math.max(w, h);
  const box = document.createElement("canvas");
  box.width = box.height = 28;
  const b = box.getContext("2d", { willReadFrequently: true });
  b.imageSmoothingEnabled = true;
  b.imageSmoothingQuality = "high";
  b.fillStyle = "#000";
  b.fillRect(0, 0, 28, 28);
  const dw = w * s, dh = h * s;
  b.drawImage(pad, x0, y0, w, h, (28 - dw) / 2, (28 - dh) / 2, dw, dh);
  let px = b.getImageData(0, 0, 28, 28).data;
  let m = 0, mx = 0, my = 0;
  for (let i = 0; i < 784; ++i) { const v = px[i * 4]; m += v; mx += v * (i % 28); my += v * Math.floor(i / 28); }
  const dx = Math.round(13.5 - mx / m), dy = Math.round(13.5 - my / m);
  if (dx !== 0 || dy !== 0) {
    const copy = document.createElement("canvas");
    copy.width = copy.height = 28;
    copy.getContext("2d").drawImage(box, 0, 0);
    b.fillRect(0, 0, 28, 28);
    b.drawImage(copy, dx, dy);
    px = b.getImageData(0, 0, 28, 28).data;
  }
  $("seen").getContext("2d").drawImage(box, 0, 0);
  const x = new Float32Array(784);
  for (let i = 0; i < 784; ++i) x[i] = px[i * 4] / 255;
  return x;
}

function probabilities(out) {
  const sum = out.reduce((a, b) => a + b, 0);
  if (out.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-3) return Array.from(out);
  const mx = Math.max(...out);
  const e = Array.from(out, (v) => Math.exp(v - mx));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

function predictDigit() {
  if (!lenet) return;
  const x = padInput();
  if (x === null) return;
  try {
    const t0 = performance.now();
    const out = lenet.predict(x);
    const dt = performance.now() - t0;
    const p = probabilities(out);
    const top = p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
    $("top3").innerHTML = top.map(([v, i]) =>
      `<li data-digit="${i}"><span class="digit">${i}</span>` +
      `<span class="bar"><span style="width:${(100 * v).toFixed(1)}%"></span></span>` +
      `<span class="pct">${(100 * v).toFixed(1)}%</span></li>`).join("");
    $("lenet-time").textContent = ms(dt);
    demo.lastInput = Array.from(x);
    demo.lastOutput = Array.from(out);
    demo.lastTop = top.map(([, i]) => i);
    demo.predictions += 1;
    hideError("digit-error");
  } catch (err) {
    showError("digit-error", err);
  }
}

async function loadOwnModel() {
  const sym = $("own-symbol").files[0], par = $("own-params").files[0];
  try {
    if (!sym || !par) throw new Error("Choose both files: the -symbol.json and the .params that model-converter wrote.");
    const model = await load(await sym.text(), new Uint8Array(await par.arrayBuffer()), [1, 1, 28, 28]);
    if (model.outputShape.reduce((a, b) => a * b, 1) < 3) {
      model.dispose();
      throw new Error(`This model has ${model.outputShape} outputs; the pad needs a classifier with at least 3 classes.`);
    }
    if (lenet) lenet.dispose();
    lenet = model;
    $("lenet-size").textContent = `${kb(par.size)} (${par.name})`;
    $("lenet-float-size").textContent = "–";
    hideError("digit-error");
    predictDigit();
  } catch (err) {
    showError("digit-error", err);
  }
}
$("own-load").addEventListener("click", loadOwnModel);

// ---- ResNet-18: binary (bmxnet) vs float (onnxruntime-web) ------------------------------

let resnet = null, ortSession = null, ort = null, ortInput = "data";

function imageInput(img) {
  const c = $("picked"), g = c.getContext("2d", { willReadFrequently: true });
  const s = Math.max(224 / img.width, 224 / img.height);  // cover, centred
  const w = img.width * s, h = img.height * s;
  g.drawImage(img, (224 - w) / 2, (224 - h) / 2, w, h);
  const px = g.getImageData(0, 0, 224, 224).data;
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const x = new Float32Array(3 * 224 * 224);
  for (let c3 = 0; c3 < 3; ++c3) {
    for (let i = 0; i < 224 * 224; ++i) x[c3 * 50176 + i] = (px[i * 4 + c3] / 255 - mean[c3]) / std[c3];
  }
  return x;
}

const argmax = (a) => a.reduce((bi, v, i) => (v > a[bi] ? i : bi), 0);

async function runResnets(x) {
  hideError("resnet-error");
  try {
    if (!resnet) throw new Error("The binary ResNet-18 is not loaded (see the message above).");
    resnet.predict(x);  // first run: allocation and caches
    const t0 = performance.now();
    const y = resnet.predict(x);
    const dt = performance.now() - t0;
    $("rn-time").textContent = ms(dt);
    $("rn-top").textContent = String(argmax(y));
    demo.resnetMs = dt;
    showProfile(resnet, x);
  } catch (err) {
    showError("resnet-error", err);
  }
  if (ortSession) {
    try {
      const feeds = { [ortInput]: new ort.Tensor("float32", x, [1, 3, 224, 224]) };
      await ortSession.run(feeds);
      const t0 = performance.now();
      const r = await ortSession.run(feeds);
      const dt = performance.now() - t0;
      $("rn-float-time").textContent = ms(dt);
      $("rn-float-top").textContent = String(argmax(Object.values(r)[0].data));
      demo.floatMs = dt;
    } catch (err) {
      showError("resnet-error", err);
    }
  }
}

// ---- the binary ResNet-18's per-layer profile ------------------------------------------

// Browsers coarsen the clock the runtime reads (Chromium: 0.1 ms steps without cross-origin
// isolation): the mean over many forwards averages the ticks out, where one forward cannot.
const PROFILE_RUNS = 10;
const KINDS = [["binary", "binary layers"], ["float", "float layers"], ["data", "data movement"]];

// 1234567 -> "1.23 M": MAC counts in the table; "–" for none.
function count(n) {
  if (n === 0) return "–";
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

// A step's multiply-accumulates, binary or float (a step does one kind); "–" for none.
const macs = (row) => row.binaryMacs ? `${count(row.binaryMacs)} binary`
  : row.floatMacs ? `${count(row.floatMacs)} float` : "–";

const stepMs = (t) => t >= 10 ? `${t.toFixed(1)} ms` : `${t.toFixed(2)} ms`;

const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;

// The part all node names share up to an underscore ("binaryresnetv10_"), shown once in the
// column's head so that the rows fit.
function commonPrefix(names) {
  let p = names.reduce((a, b) => { let i = 0; while (i < a.length && a[i] === b[i]) ++i; return a.slice(0, i); });
  p = p.slice(0, p.lastIndexOf("_") + 1);
  return names.every((n) => n.length > p.length) ? p : "";
}

const escapeHtml = (text) => text.replace(/[&<>"]/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

const shareCell = (share) =>
  `<td class="share"><span class="share-bar" style="width:${(100 * share).toFixed(1)}%"></span>` +
  `<span class="share-text">${(100 * share).toFixed(1)}%</span></td>`;

// model.profile(x) PROFILE_RUNS times: each step's mean time, its share of their sum, and the
// sums per kind, into the collapsible table under the timings.
function showProfile(model, x) {
  const runs = [];
  for (let r = 0; r < PROFILE_RUNS; ++r) runs.push(model.profile(x).rows);
  const rows = runs[0].map((row, i) => ({ ...row, seconds: mean(runs.map((run) => run[i].seconds)) }));
  const total = rows.reduce((sum, row) => sum + row.seconds, 0);
  for (const row of rows) row.share = total > 0 ? row.seconds / total : 0;
  const prefix = commonPrefix(rows.map((row) => row.node));
  $("rn-profile-prefix").textContent = prefix ? ` (${prefix}…)` : "";
  $("rn-profile-rows").dataset.prefix = prefix;
  $("rn-profile-rows").innerHTML = rows.map((row, i) =>
    `<tr class="kind-${row.kind}"><td>${i + 1}</td><td>${escapeHtml(row.node.slice(prefix.length))}</td>` +
    `<td>${escapeHtml(row.op)}</td><td>${escapeHtml(row.kernel)}</td>` +
    `<td>${row.outputShape.join(",")}</td><td>${macs(row)}</td>` +
    `<td>${stepMs(1e3 * row.seconds)}</td>${shareCell(row.share)}</tr>`).join("");
  const totals = KINDS.map(([kind, label]) => {
    const of = rows.filter((row) => row.kind === kind);
    const seconds = of.reduce((sum, row) => sum + row.seconds, 0);
    return { kind, label, steps: of.length, seconds, share: total > 0 ? seconds / total : 0,
             binaryMacs: of.reduce((sum, row) => sum + row.binaryMacs, 0),
             floatMacs: of.reduce((sum, row) => sum + row.floatMacs, 0) };
  });
  $("rn-profile-totals").innerHTML = totals.map((t) =>
    `<tr class="kind-${t.kind}"><th>${t.label}</th><td>${t.steps}</td><td>${count(t.binaryMacs)}</td>` +
    `<td>${count(t.floatMacs)}</td><td>${stepMs(1e3 * t.seconds)}</td>${shareCell(t.share)}</tr>`).join("");
  const binary = totals[0];
  const allMacs = totals.reduce((sum, t) => sum + t.binaryMacs + t.floatMacs, 0);
  $("rn-profile-summary").textContent =
    `${rows.length} steps, ${ms(1e3 * total)}; binary layers ${(100 * binary.share).toFixed(0)}% ` +
    `of the time, ${(100 * binary.binaryMacs / Math.max(1, allMacs)).toFixed(0)}% of the MACs`;
  $("rn-profile-runs").textContent = String(PROFILE_RUNS);
  $("rn-profile").hidden = false;
  demo.profile = { rows, totals, totalSeconds: total };
}

$("image").addEventListener("change", async () => {
  const f = $("image").files[0];
  if (!f) return;
  try {
    const img = await createImageBitmap(f);
    await runResnets(imageInput(img));
  } catch (err) {
    showError("resnet-error", new Error(`${f.name}: not an image this browser can read (${err.message || err}).`));
  }
});

async function loadOrt(info) {
  ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href;
  ortSession = await ort.InferenceSession.create(await fetchBytes("models/resnet18_float.onnx"),
                                                 { executionProviders: ["wasm"] });
  ortInput = info.resnet18_float_onnx.input;
  $("rn-float-size").textContent = kb(info.resnet18_float_onnx.bytes);
}

// ---- start ----------------------------------------------------------------------------

async function start() {
  clearPad();
  const info = JSON.parse(await fetchText("models/models.json"));
  lenet = await load(await fetchText("models/lenet-symbol.json"),
                     await fetchBytes("models/lenet.params"), info.lenet.input_shape);
  $("lenet-size").textContent = kb(info.lenet.bytes);
  $("lenet-float-size").textContent = `${kb(info.lenet.float_bytes)} (${(info.lenet.float_bytes / info.lenet.bytes).toFixed(0)}x)`;
  $("lenet-isa").textContent = `${lenet.plan.isa}, 1 thread`;
  $("status").textContent = "Ready: draw a digit.";
  demo.ready = true;
  try {
    resnet = await load(await fetchText("models/resnet18-symbol.json"),
                        await fetchBytes("models/resnet18.params"), info.resnet18.input_shape);
    $("rn-size").textContent = kb(info.resnet18.bytes);
  } catch (err) {
    showError("resnet-error", err);
  }
  try {
    await loadOrt(info);
  } catch (err) {
    showError("resnet-error", new Error(`onnxruntime-web is not available (${err.message || err}); ` +
                                        "`make web-models` installs it."));
  }
  demo.resnetReady = true;
}

start().catch((err) => {
  $("status").textContent = "The demo could not start.";
  showError("digit-error", err);
});
