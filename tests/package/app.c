/* A program of one's own against the installed runtime, built with find_package(bmx_runtime) and
 * with pkg-config by tests/package/check_package.sh: app PREFIX N C H W runs the converted model
 * PREFIX on PREFIX.input.f32 (raw float32 NCHW) and prints its first output, one value a line. */
#include <bmx_predict.h>
#include <stdio.h>
#include <stdlib.h>

static void* load(const char* prefix, const char* suffix, long* size) {
  char path[4096];
  snprintf(path, sizeof path, "%s%s", prefix, suffix);
  FILE* f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "app: cannot open %s\n", path); exit(2); }
  fseek(f, 0, SEEK_END), *size = ftell(f), rewind(f);
  char* data = calloc(1, (size_t)*size + 1);
  if (fread(data, 1, (size_t)*size, f) != (size_t)*size) { fprintf(stderr, "app: cannot read %s\n", path); exit(2); }
  fclose(f);
  return data;
}

int main(int argc, char** argv) {
  if (argc != 6) { fprintf(stderr, "usage: app PREFIX N C H W\n"); return 2; }
  long n_sym, n_par, n_in;
  char* sym = load(argv[1], "-symbol.json", &n_sym);
  void* par = load(argv[1], "-0000.params", &n_par);
  float* in = load(argv[1], ".input.f32", &n_in);
  const char* keys[1] = {"data"};
  uint32_t indptr[2] = {0, 4}, shape[4], *out_shape, ndim, size = 1;
  for (int i = 0; i < 4; ++i) shape[i] = (uint32_t)atoi(argv[2 + i]);
  BMXPredictorHandle pred;
  if (BMXPredCreate(sym, par, (int)n_par, 1, 0, 1, keys, indptr, shape, &pred) ||
      BMXPredSetInput(pred, "data", in, (uint32_t)(n_in / 4)) || BMXPredForward(pred) ||
      BMXPredGetOutputShape(pred, 0, &out_shape, &ndim)) {
    fprintf(stderr, "app: %s\n", BMXGetLastError());
    return 1;
  }
  for (uint32_t i = 0; i < ndim; ++i) size *= out_shape[i];
  float* out = malloc(size * sizeof(float));
  if (BMXPredGetOutput(pred, 0, out, size)) { fprintf(stderr, "app: %s\n", BMXGetLastError()); return 1; }
  for (uint32_t i = 0; i < size; ++i) printf("%.9g\n", out[i]);
  BMXPredFree(pred);
  return 0;
}
