// WebAssembly memory across loads that are refused or padded: it never shrinks, so a refused
// load (an absurd input shape) must not grow it, nor a symbol padded with whitespace by its
// padding.
//   node --no-experimental-fetch tests/web/memory_growth.mjs MODULE SYMBOL PARAMS SHAPE HUGE_SHAPE
// Prints one JSON object (memory in bytes at each point, the refusal's message); the pytest
// side judges it.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [modulePath, symbolFile, paramsFile, shapeText, hugeText] = process.argv.slice(2);
const { load, memoryBytes } = await import(pathToFileURL(resolve(modulePath)).href);
const shape = shapeText.split(",").map(Number);
const symbol = readFileSync(symbolFile, "utf8");
const params = readFileSync(paramsFile);
const result = { start: await memoryBytes() };

try {
  (await load(symbol, params, hugeText.split(",").map(Number))).dispose();
  result.hugeError = null;
} catch (e) {
  result.hugeError = String(e && e.message);
}
result.afterHuge = await memoryBytes();

const padding = 50 * 1024 * 1024;
const padded = symbol[0] + " ".repeat(padding) + symbol.slice(1);
const model = await load(padded, params, shape);
model.dispose();
result.padding = padding;
result.afterPadded = await memoryBytes();
console.log(JSON.stringify(result));
