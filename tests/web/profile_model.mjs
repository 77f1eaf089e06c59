// Profiles a converted model through the WebAssembly runtime's JS API under Node.
//   node --no-experimental-fetch tests/web/profile_model.mjs MODULE SYMBOL PARAMS SHAPE RUNS
// Prints one JSON line: the last profile's rows and forward seconds, every run's forward and
// row sum, whether profile()'s output equals predict()'s, and the plan's nodes.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [modulePath, symbolFile, paramsFile, shapeText, runsText] = process.argv.slice(2);
const { load } = await import(pathToFileURL(resolve(modulePath)).href);
const shape = shapeText.split(",").map(Number);
const model = await load(readFileSync(symbolFile, "utf8"), readFileSync(paramsFile), shape);
const input = new Float32Array(model.inputSize).map((_, i) => Math.sin(i));
const predicted = model.predict(input);
let last = null, sameOutput = true, wrongInput = null;
const forwards = [], sums = [];
for (let r = 0; r < Number(runsText); ++r) {
  last = model.profile(input);
  sameOutput &&= last.output.every((v, i) => Object.is(v, predicted[i]));
  forwards.push(last.forwardSeconds);
  sums.push(last.rows.reduce((a, row) => a + row.seconds, 0));
}
try {
  model.profile(new Float32Array(model.inputSize + 1));
} catch (e) {
  wrongInput = e.message;
}
console.log(JSON.stringify({ rows: last.rows, forwardSeconds: last.forwardSeconds, forwards,
                             sums, sameOutput, wrongInput,
                             planNodes: model.plan.nodes.map((n) => n.name) }));
model.dispose();
