/*
 * run_golden: runs one model through libbmx_runtime's C API on a golden input and compares the
 * output with the golden output that the x86-64 MXNet path wrote (tests/runtime_golden.py).
 *
 *   run_golden DIR/NAME [OUT.f32]
 *
 * reads DIR/NAME-symbol.json, DIR/NAME-0000.params, DIR/NAME.shape (text "1,3,32,32"),
 * DIR/NAME.input.f32 and DIR/NAME.output.f32 (raw little-endian float32, NCHW), runs the model
 * once, optionally writes the runtime's raw output to OUT.f32, and passes when
 * max |out - expected| <= 1e-4 * max |expected| and both have the same argmax. Prints one line
 * with the figures and the plan's instruction set and float backend. Exit: 0 pass, 1 mismatch or
 * runtime error, 2 usage or unreadable files.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmx_predict.h"

static char* read_file(const char* path, long* size) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "run_golden: cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char* buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "run_golden: cannot read %s\n", path);
    free(buf);
    fclose(f);
    return NULL;
  }
  buf[n] = '\0';
  fclose(f);
  *size = n;
  return buf;
}

static char* path_of(const char* prefix, const char* suffix) {
  char* p = malloc(strlen(prefix) + strlen(suffix) + 1);
  strcpy(p, prefix);
  strcat(p, suffix);
  return p;
}

/* The value of "key": "..." in the plan JSON (enough for the flat "isa"/"float_backend"). */
static void plan_field(const char* plan, const char* key, char* out, size_t cap) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  const char* p = strstr(plan, pattern);
  snprintf(out, cap, "?");
  if (!p) return;
  p = strchr(p + strlen(pattern), '"');
  if (!p) return;
  const char* e = strchr(p + 1, '"');
  if (!e || (size_t)(e - p) > cap) return;
  memcpy(out, p + 1, (size_t)(e - p - 1));
  out[e - p - 1] = '\0';
}

static size_t argmax(const float* x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: run_golden DIR/NAME [OUT.f32]\n");
    return 2;
  }
  const char* prefix = argv[1];
  const char* name = strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix;
  char *sym_path = path_of(prefix, "-symbol.json"), *par_path = path_of(prefix, "-0000.params");
  char *shp_path = path_of(prefix, ".shape"), *in_path = path_of(prefix, ".input.f32");
  char* exp_path = path_of(prefix, ".output.f32");
  long sym_n, par_n, shp_n, in_n, exp_n;
  char* sym = read_file(sym_path, &sym_n);
  char* par = read_file(par_path, &par_n);
  char* shp = read_file(shp_path, &shp_n);
  char* in = read_file(in_path, &in_n);
  char* expected_bytes = read_file(exp_path, &exp_n);
  if (!sym || !par || !shp || !in || !expected_bytes) return 2;

  uint32_t shape[8];
  uint32_t ndim = 0;
  size_t in_count = 1;
  for (char* tok = strtok(shp, ", \n"); tok && ndim < 8; tok = strtok(NULL, ", \n")) {
    shape[ndim] = (uint32_t)strtoul(tok, NULL, 10);
    in_count *= shape[ndim++];
  }
  if (ndim == 0 || in_count * sizeof(float) != (size_t)in_n) {
    fprintf(stderr, "run_golden: %s holds %ld bytes, the shape in %s needs %zu\n", in_path, in_n,
            shp_path, in_count * sizeof(float));
    return 2;
  }

  const char* keys[] = {"data"};
  uint32_t indptr[] = {0, ndim};
  BMXPredictorHandle h = NULL;
  if (BMXPredCreate(sym, par, (int)par_n, 1, 0, 1, keys, indptr, shape, &h) != 0) {
    printf("%s: FAIL: BMXPredCreate: %s\n", name, BMXGetLastError());
    return 1;
  }
  uint32_t* out_shape = NULL;
  uint32_t out_ndim = 0;
  const char* plan = "";
  if (BMXPredSetInput(h, "data", (const float*)in, (uint32_t)in_count) != 0 ||
      BMXPredForward(h) != 0 || BMXPredGetOutputShape(h, 0, &out_shape, &out_ndim) != 0 ||
      BMXPredGetPlan(h, &plan) != 0) {
    printf("%s: FAIL: %s\n", name, BMXGetLastError());
    return 1;
  }
  size_t out_count = 1;
  for (uint32_t d = 0; d < out_ndim; ++d) out_count *= out_shape[d];
  if (out_count * sizeof(float) != (size_t)exp_n) {
    printf("%s: FAIL: the output has %zu floats, %s holds %ld\n", name, out_count, exp_path,
           exp_n / (long)sizeof(float));
    return 1;
  }
  float* out = malloc(out_count * sizeof(float));
  if (BMXPredGetOutput(h, 0, out, (uint32_t)out_count) != 0) {
    printf("%s: FAIL: BMXPredGetOutput: %s\n", name, BMXGetLastError());
    return 1;
  }
  if (argc == 3) {
    FILE* f = fopen(argv[2], "wb");
    if (!f || fwrite(out, sizeof(float), out_count, f) != out_count || fclose(f) != 0) {
      fprintf(stderr, "run_golden: cannot write %s\n", argv[2]);
      return 2;
    }
  }
  const float* expected = (const float*)expected_bytes;
  double max_diff = 0, max_abs = 0;
  int finite = 1;
  for (size_t i = 0; i < out_count; ++i) {
    if (!isfinite(out[i])) finite = 0;
    double d = fabs((double)out[i] - (double)expected[i]);
    if (d > max_diff) max_diff = d;
    if (fabs(expected[i]) > max_abs) max_abs = fabs(expected[i]);
  }
  /* Batch 1 here: the argmax over all outputs is the top-1 class. */
  size_t top_out = argmax(out, out_count), top_exp = argmax(expected, out_count);
  double tol = 1e-4 * max_abs;
  int pass = finite && max_diff <= tol && top_out == top_exp;
  char isa[32], backend[32];
  plan_field(plan, "isa", isa, sizeof isa);
  plan_field(plan, "float_backend", backend, sizeof backend);
  printf("%s: %s: max|diff| %.3g (limit %.3g = 1e-4 * max|expected|)%s, argmax %zu (expected "
         "%zu), isa %s, float %s\n",
         name, pass ? "ok" : "FAIL", max_diff, tol, finite ? "" : ", NOT FINITE", top_out,
         top_exp, isa, backend);
  BMXPredFree(h);
  free(out);
  free(sym), free(par), free(shp), free(in), free(expected_bytes);
  free(sym_path), free(par_path), free(shp_path), free(in_path), free(exp_path);
  return pass ? 0 : 1;
}
