// The JS API's contract under Node: errors carry the runtime's message (load rejects, predict
// throws, nothing hangs), and load/predict/dispose cycles give all WebAssembly heap back.
//   node --no-experimental-fetch tests/web/api_contract.mjs MODULE SYMBOL PARAMS SHAPE
// Prints one JSON object with what it saw; the pytest side judges it.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [modulePath, symbolFile, paramsFile, shapeText] = process.argv.slice(2);
const { load, heapInUse } = await import(pathToFileURL(resolve(modulePath)).href);
const shape = shapeText.split(",").map(Number);
const symbol = readFileSync(symbolFile, "utf8");
const params = readFileSync(paramsFile);
const size = shape.reduce((a, b) => a * b, 1);
const result = {};

async function message(fn) {
  try {
    await fn();
    return null;
  } catch (e) {
    return { isError: e instanceof Error, message: String(e && e.message) };
  }
}

result.badJson = await message(() => load("{not json", params, shape));
result.badParams = await message(() => load(symbol, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), shape));
const graph = JSON.parse(symbol);
const conv = graph.nodes.find((n) => n.op !== "null");
conv.op = "NoSuchOperator";
result.unsupportedOp = await message(() => load(JSON.stringify(graph), params, shape));
result.badShape = await message(() => load(symbol, params, [1, 0, 28]));
result.notBytes = await message(() => load(symbol, "params", shape));

const model = await load(symbol, params, shape);
result.wrongLength = await message(() => model.predict(new Float32Array(size + 1)));
result.notFloat32 = await message(() => model.predict(new Array(size).fill(0)));
const first = model.predict(new Float32Array(size).fill(0.5));
model.dispose();
model.dispose();
result.afterDispose = await message(() => model.predict(new Float32Array(size)));

// Leak check: the heap in use after each cycle equals the one after the first.
const x = new Float32Array(size).map((_, i) => Math.sin(i));
const heap = [];
let same = true;
for (let i = 0; i < 50; ++i) {
  const m = await load(symbol, params, shape);
  const y = m.predict(new Float32Array(size).fill(0.5));
  same = same && y.every((v, k) => v === first[k]);
  m.predict(x);
  m.dispose();
  heap.push(await heapInUse());
}
result.heapInUse = heap;
result.repeatable = same;
console.log(JSON.stringify(result));
