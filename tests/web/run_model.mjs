// Runs a converted model through the WebAssembly runtime under Node, through the JS API.
//   node --no-experimental-fetch tests/web/run_model.mjs MODULE SYMBOL PARAMS SHAPE IN.f32 OUT.f32
// SHAPE: "1,1,28,28"; IN.f32 / OUT.f32: raw little-endian float32. Prints the output shape and
// the plan's kernel path as one JSON line.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

const [modulePath, symbolFile, paramsFile, shapeText, inFile, outFile] = process.argv.slice(2);
const { load } = await import(pathToFileURL(resolve(modulePath)).href);
const shape = shapeText.split(",").map(Number);
const model = await load(readFileSync(symbolFile, "utf8"), readFileSync(paramsFile), shape);
const raw = readFileSync(inFile);
const input = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
const out = model.predict(input);
writeFileSync(outFile, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
console.log(JSON.stringify({ outputShape: model.outputShape, isa: model.plan.isa,
                             floatBackend: model.plan.float_backend }));
model.dispose();
