// The JavaScript API of bmxnet's WebAssembly runtime, appended to the emscripten module
// (bmxnet.mjs). A stable contract over the C API (bmx_predict.h):
//
//   import { load } from "./bmxnet.mjs";
//   const model = await load(symbolJsonText, paramsBytes, [1, 1, 28, 28]);
//   const out = model.predict(input);   // Float32Array in (NCHW), Float32Array out
//   model.outputShape;                  // e.g. [1, 10]
//   const { rows, forwardSeconds } = model.profile(input);   // per-layer times
//   model.dispose();
//
// Every failure (bad files, a wrong input length, an unsupported op) is an Error carrying the
// runtime's one-sentence message; load() rejects, predict() throws. One WebAssembly instance
// is shared by all models of a page; dispose() gives a model's memory back to it.

let bmxInstance = null;

// The shared instance, created on first use.
function bmxModule() {
  if (bmxInstance === null) {
    // Under Node the .wasm is read from beside this file (emscripten 3.1.6 would otherwise
    // fetch a file: URL, which Node's fetch cannot).
    const options = bmxIsNode
      ? { wasmBinary: require("fs").readFileSync(new URL("bmxnet.wasm", import.meta.url)) }
      : {};
    bmxInstance = createBmxnetModule(options).catch((e) => {
      bmxInstance = null;
      throw new Error(`bmxnet: the WebAssembly module failed to start: ${e && e.message ? e.message : e}`);
    });
  }
  return bmxInstance;
}

function bmxBytes(params) {
  if (params instanceof Uint8Array) return params;
  if (params instanceof ArrayBuffer) return new Uint8Array(params);
  if (ArrayBuffer.isView(params)) return new Uint8Array(params.buffer, params.byteOffset, params.byteLength);
  throw new Error("bmxnet: the params must be an ArrayBuffer or a Uint8Array (the bytes of the .params file).");
}

function bmxShape(shape) {
  if (!Array.isArray(shape) || shape.length === 0 || shape.length > 8 ||
      !shape.every((d) => Number.isInteger(d) && d > 0 && d < 2 ** 31)) {
    throw new Error(`bmxnet: the input shape must be an array of positive integers, e.g. [1, 1, 28, 28]; got ${JSON.stringify(shape)}.`);
  }
  return shape;
}

class BmxnetModel {
  constructor(M, handle, inputShape) {
    this._M = M;
    this._handle = handle;
    this.inputShape = inputShape.slice();
    this.inputSize = inputShape.reduce((a, b) => a * b, 1);
    const cell = M._malloc(8);
    try {
      bmxCheck(M, M._BMXPredGetOutputShape(handle, 0, cell, cell + 4));
      const data = M.HEAPU32[cell >> 2], ndim = M.HEAPU32[(cell + 4) >> 2];
      this.outputShape = Array.from(M.HEAPU32.subarray(data >> 2, (data >> 2) + ndim));
      bmxCheck(M, M._BMXPredGetPlan(handle, cell));
      this.plan = JSON.parse(M.UTF8ToString(M.HEAPU32[cell >> 2]));
    } finally {
      M._free(cell);
    }
    this.outputSize = this.outputShape.reduce((a, b) => a * b, 1);
    this._in = M._malloc(this.inputSize * 4);
    this._out = M._malloc(this.outputSize * 4);
    this._key = M._malloc(5);
    M.stringToUTF8("data", this._key, 5);
  }

  // Checks one input (NCHW floats, exactly inputSize of them) and sets it.
  _setInput(input) {
    const M = this._M;
    if (this._handle === 0) throw new Error("bmxnet: this model was disposed; load it again.");
    if (!(input instanceof Float32Array)) {
      throw new Error("bmxnet: predict() and profile() take a Float32Array (NCHW).");
    }
    if (input.length !== this.inputSize) {
      throw new Error(`bmxnet: the input has ${input.length} floats but the shape [${this.inputShape}] needs ${this.inputSize}.`);
    }
    M.HEAPF32.set(input, this._in >> 2);
    bmxCheck(M, M._BMXPredSetInput(this._handle, this._key, this._in, this.inputSize));
  }

  // Runs the model on one input (NCHW floats, exactly inputSize of them); returns a new
  // Float32Array of outputSize floats.
  predict(input) {
    const M = this._M;
    this._setInput(input);
    bmxCheck(M, M._BMXPredForward(this._handle));
    bmxCheck(M, M._BMXPredGetOutput(this._handle, 0, this._out, this.outputSize));
    return M.HEAPF32.slice(this._out >> 2, (this._out >> 2) + this.outputSize);
  }

  // Runs the model on one input as predict() does, timing every step (BMXPredForwardProfiled):
  // { output, forwardSeconds, rows }, one row per step in run order: { node, op, kernel, kind
  // ("binary", "float" or "data"), outputShape, binaryMacs, floatMacs, seconds }.
  profile(input) {
    const M = this._M;
    this._setInput(input);
    const cell = M._malloc(16);  // the rows' address, their count, the forward's seconds
    try {
      bmxCheck(M, M._BMXPredForwardProfiled(this._handle, cell, cell + 4, cell + 8));
      const base = M.HEAPU32[cell >> 2], count = M.HEAPU32[(cell + 4) >> 2];
      const forwardSeconds = M.HEAPF64[(cell + 8) >> 3];
      const rows = [];
      for (let i = 0; i < count; ++i) {
        const r = base + 56 * i;  // sizeof(BMXStepProfile) in wasm32 (profile.cc checks it)
        const u32 = (offset) => M.HEAPU32[(r + offset) >> 2];
        const i64 = (offset) => u32(offset) + u32(offset + 4) * 2 ** 32;
        const shape = u32(16), ndim = u32(20);
        rows.push({
          node: M.UTF8ToString(u32(0)), op: M.UTF8ToString(u32(4)),
          kernel: M.UTF8ToString(u32(8)), kind: M.UTF8ToString(u32(12)),
          outputShape: Array.from(M.HEAPU32.subarray(shape >> 2, (shape >> 2) + ndim)),
          binaryMacs: i64(24), floatMacs: i64(32), seconds: M.HEAPF64[(r + 48) >> 3],
        });
      }
      bmxCheck(M, M._BMXPredGetOutput(this._handle, 0, this._out, this.outputSize));
      const output = M.HEAPF32.slice(this._out >> 2, (this._out >> 2) + this.outputSize);
      return { output, forwardSeconds, rows };
    } finally {
      M._free(cell);
    }
  }

  // Frees the model's WebAssembly memory; calling it again does nothing.
  dispose() {
    if (this._handle === 0) return;
    const M = this._M;
    M._BMXPredFree(this._handle);
    M._free(this._in);
    M._free(this._out);
    M._free(this._key);
    this._handle = 0;
  }
}

function bmxCheck(M, rc) {
  if (rc !== 0) {
    const msg = M.UTF8ToString(M._BMXGetLastError()) || "the runtime failed without a message";
    throw new Error(`bmxnet: ${msg}`);
  }
}

// Loads a converted model: the -symbol.json text, the .params bytes and the input shape.
export async function load(symbolJson, params, inputShape) {
  if (typeof symbolJson !== "string") {
    throw new Error("bmxnet: the symbol must be the text of the -symbol.json file (a string).");
  }
  const bytes = bmxBytes(params);
  const shape = bmxShape(inputShape);
  const M = await bmxModule();
  const allocs = [];
  const alloc = (n) => { const p = M._malloc(Math.max(n, 1)); allocs.push(p); return p; };
  let handle = 0;
  try {
    // Whitespace between JSON tokens means nothing: each run of it is copied into the heap as
    // one space (strings are kept as they are), so a symbol padded with whitespace does not
    // grow the WebAssembly memory, which never shrinks, by its padding.
    const text = symbolJson.replace(/("(?:[^"\\]|\\[\s\S])*")|[ \t\n\r]+/g,
                                    (run, string) => string ?? " ");
    const jsonLen = M.lengthBytesUTF8(text) + 1;
    const json = alloc(jsonLen);
    M.stringToUTF8(text, json, jsonLen);
    const par = alloc(bytes.length);
    M.HEAPU8.set(bytes, par);
    const key = alloc(5);
    M.stringToUTF8("data", key, 5);
    const keys = alloc(4);
    M.HEAPU32[keys >> 2] = key;
    const indptr = alloc(8);
    M.HEAPU32[indptr >> 2] = 0;
    M.HEAPU32[(indptr >> 2) + 1] = shape.length;
    const dims = alloc(4 * shape.length);
    M.HEAPU32.set(shape, dims >> 2);
    const out = alloc(4);
    bmxCheck(M, M._BMXPredCreate(json, par, bytes.length, 1, 0, 1, keys, indptr, dims, out));
    handle = M.HEAPU32[out >> 2];
    bmxCheck(M, M._BMXPredSetNumThreads(handle, 1));
    const model = new BmxnetModel(M, handle, shape);
    handle = 0;
    return model;
  } finally {
    if (handle !== 0) M._BMXPredFree(handle);
    for (const p of allocs) M._free(p);
  }
}

// Bytes of WebAssembly memory the module holds: it grows when the heap needs more and never
// shrinks, so a load that was refused should leave it as it was.
export async function memoryBytes() {
  const M = await bmxModule();
  return M.HEAPU8.length;
}

// Bytes of the WebAssembly heap in use (malloc'd and not freed): for leak checks.
export async function heapInUse() {
  const M = await bmxModule();
  return M._bmx_web_heap_in_use();
}
