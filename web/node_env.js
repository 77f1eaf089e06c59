// Prepended to bmxnet.mjs: what emscripten 3.1.6's output expects from Node, which an ES
// module does not have (require, __dirname). Browsers skip it.
var require, __dirname;
const bmxIsNode = typeof process === "object" && typeof process.versions === "object" &&
                  typeof process.versions.node === "string";
if (bmxIsNode) {
  const { createRequire } = await import("node:module");
  const { fileURLToPath } = await import("node:url");
  require = createRequire(import.meta.url);
  __dirname = fileURLToPath(new URL(".", import.meta.url));
}
