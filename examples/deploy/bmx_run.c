/*
 * bmx_run: classify one input with a converted model through libbmx_runtime (no MXNet).
 *
 *   bmx_run MODEL INPUT [--shape N,C,H,W] [--threads N] [--top K] [--output OUT.f32]
 *           [--mean M,...] [--std S,...]
 *
 * MODEL is a model prefix (PREFIX-symbol.json and the highest PREFIX-NNNN.params) or the
 * path of either file. INPUT is made the model's input tensor by libbmx_runtime's input rules
 * (BMXInputFromFile / BMXInputFromPixels in bmx_predict.h), the same as `bmxnet predict`'s, for
 * the model's input shape: --shape, else the shape the model records. INPUT is recognised by
 * its first bytes:
 *   - a .npy array (any real dtype, values as they are): one sample of the model's input
 *     without its batch axis (leading axes of size 1 optional: (28, 28) for 1,1,28,28), or a
 *     batch of them;
 *   - a binary PGM (P5) or PPM (P6) image, and a PNG image when built with libpng: pixels
 *     scaled to [0, 1], converted to the model's channels (gray <-> RGB), resized bilinearly
 *     to its H x W, then --mean subtracted and --std divided per channel; batch 1;
 *   - anything else: raw little-endian float32 values, whole samples of the input shape.
 * An input that does not fit is refused with one sentence naming the shape the model takes.
 * Prints the output shape, then per sample its top-K classes (default 5) with their scores,
 * as the model gives them (no softmax added):
 *
 *   output shape: 1,10
 *   sample 0: top-5 classes 7(12.77) 0(12.12) 9(1.45) 3(0.21) 1(-0.5)
 *
 * Exit status: 0 on success, 2 on a usage error, 1 on any other failure (one line on stderr).
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bmx_predict.h>

#ifdef BMX_RUN_HAVE_PNG
#include "png_pixels.h"
#endif

#define DEV_CPU 1

static const char *g_prog = "bmx_run";

#include "cli_common.h"

/* The image formats this build reads, as the usage and the raw-input error name them. */
#ifdef BMX_RUN_HAVE_PNG
#define IMAGE_FORMATS "PGM/PPM/PNG"
#else
#define IMAGE_FORMATS "PGM/PPM"
#endif

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s MODEL INPUT [--shape N,C,H,W] [--threads N] [--top K]\n"
          "       %*s [--output OUT.f32] [--mean M,...] [--std S,...]\n"
          "\n"
          "  MODEL      model prefix (PREFIX-symbol.json + highest PREFIX-NNNN.params),\n"
          "             or the path of either file\n"
          "  INPUT      .npy array, PGM/PPM image%s, or raw little-endian float32\n"
          "  --shape    the model's input shape, batch first (default: the one it records)\n"
          "  --threads  kernel threads (default: OMP_NUM_THREADS, else all hardware threads)\n"
          "  --top      classes printed per sample (default 5)\n"
          "  --output   also write the first output as raw little-endian float32\n"
          "  --mean     per-channel mean subtracted from image pixels scaled to [0, 1]\n"
          "  --std      per-channel standard deviation the pixels are divided by\n",
          g_prog, (int)strlen(g_prog), "",
#ifdef BMX_RUN_HAVE_PNG
          ", PNG image"
#else
          ""
#endif
  );
}

static void check(int rc, const char *what) {
  if (rc != 0) {
    const char *msg = BMXGetLastError();
    die("%s failed: %s", what, msg && *msg ? msg : "no message from the runtime");
  }
}

/* ---- small parsers -------------------------------------------------------------------- */

/* Comma-separated floats (1 to MAX_DIMS); returns the count. */
static int parse_floats(const char *text, float *values, const char *option) {
  const char *p = text;
  int n = 0;
  for (;;) {
    char *end;
    double v;
    errno = 0;
    v = strtod(p, &end);
    if (end == p || errno != 0 || !isfinite(v) || n == MAX_DIMS)
      usage_error("bad %s '%s': expected 1 to %d numbers separated by commas", option, text,
                  MAX_DIMS);
    values[n++] = (float)v;
    if (*end == '\0') return n;
    if (*end != ',')
      usage_error("bad %s '%s': expected numbers separated by commas", option, text);
    p = end + 1;
  }
}

static void format_dims(const uint32_t *dims, uint32_t ndim, char *buf, size_t size) {
  size_t used = 0;
  uint32_t i;
  buf[0] = '\0';
  for (i = 0; i < ndim && used < size; ++i)
    used += (size_t)snprintf(buf + used, size - used, "%s%u", i ? "," : "", dims[i]);
}

/* ---- files ---------------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* MODEL -> its symbol and params paths (malloc'ed). */
static void resolve_model(const char *model, char **symbol, char **params) {
  size_t n = strlen(model);
  char *prefix = malloc(n + 1), *pattern;
  glob_t found;
  FILE *f;

  if (prefix == NULL) die("out of memory");
  memcpy(prefix, model, n + 1);
  *params = NULL;
  if (ends_with(prefix, "-symbol.json")) {
    prefix[n - strlen("-symbol.json")] = '\0';
  } else if (n > 12 && ends_with(prefix, ".params") && prefix[n - 12] == '-' &&
             isdigit((unsigned char)prefix[n - 11]) && isdigit((unsigned char)prefix[n - 10]) &&
             isdigit((unsigned char)prefix[n - 9]) && isdigit((unsigned char)prefix[n - 8])) {
    *params = malloc(n + 1);
    if (*params == NULL) die("out of memory");
    memcpy(*params, model, n + 1);
    prefix[n - 12] = '\0';
  }
  *symbol = malloc(strlen(prefix) + sizeof "-symbol.json");
  pattern = malloc(strlen(prefix) + sizeof "-[0-9][0-9][0-9][0-9].params");
  if (*symbol == NULL || pattern == NULL) die("out of memory");
  sprintf(*symbol, "%s-symbol.json", prefix);
  f = fopen(*symbol, "rb");
  if (f == NULL)
    die("cannot open %s: %s (give a model prefix, its -symbol.json or its -NNNN.params)",
        *symbol, strerror(errno));
  fclose(f);
  if (*params == NULL) {
    sprintf(pattern, "%s-[0-9][0-9][0-9][0-9].params", prefix);
    if (glob(pattern, 0, NULL, &found) != 0 || found.gl_pathc == 0)
      die("no %s-NNNN.params next to %s", prefix, *symbol);
    /* glob sorts, and four digits sort as numbers: the last is the highest epoch. */
    *params = malloc(strlen(found.gl_pathv[found.gl_pathc - 1]) + 1);
    if (*params == NULL) die("out of memory");
    strcpy(*params, found.gl_pathv[found.gl_pathc - 1]);
    globfree(&found);
  }
  free(pattern);
  free(prefix);
}

/* ---- inputs --------------------------------------------------------------------------- */

/* A refused input file: the runtime's sentence names the file, what it holds and the shape the
 * model takes, so it stands alone (no pointer to --help); a usage error all the same. */
static void input_error(void) {
  const char *msg = BMXGetLastError();
  fprintf(stderr, "%s: error: %s\n", g_prog, msg && *msg ? msg : "the input does not fit the model");
  exit(EXIT_USAGE);
}

#ifdef BMX_RUN_HAVE_PNG
/* A PNG's 8-bit pixels, interleaved, its own channels (gray or RGB, with alpha if it has it). */
static unsigned char *decode_png(const char *path, const unsigned char *bytes, size_t size,
                                 uint32_t *height, uint32_t *width, uint32_t *channels) {
  unsigned char *pixels;
  char reason[128];
  switch (bmx_png_pixels(bytes, size, &pixels, height, width, channels, reason, sizeof reason)) {
    case BMX_PNG_OK: return pixels;
    case BMX_PNG_OUT_OF_MEMORY: die("out of memory for the image");
    default: usage_error("%s is not a readable PNG image (%s)", path, reason);
  }
  return NULL;
}
#endif

/* INPUT as the model's input tensor (BMXInputFromFile / BMXInputFromPixels: the rules that
 * `bmxnet predict` shares). shape: --shape, else the shape the model records (shape_ndim 0:
 * neither). */
static BMXInputHandle load_input(const char *path, const unsigned char *bytes, size_t size,
                                 const uint32_t *shape, uint32_t shape_ndim, const float *mean,
                                 int n_mean, const float *std, int n_std) {
  BMXInputHandle in = NULL;
  const char *format = "";
  int needs_decoding = 0;
  check(BMXInputFormat(bytes, size, &format, &needs_decoding), "reading the input");
  if (needs_decoding) {
#ifdef BMX_RUN_HAVE_PNG
    if (strcmp(format, "png") == 0) {
      uint32_t height, width, channels;
      unsigned char *pixels = decode_png(path, bytes, size, &height, &width, &channels);
      if (BMXInputFromPixels(path, pixels, height, width, channels, shape, shape_ndim, mean,
                             (uint32_t)n_mean, std, (uint32_t)n_std, &in) != 0)
        input_error();
      free(pixels);
      return in;
    }
#endif
    usage_error("%s is a %s image, which this bmx_run does not decode; convert it to %s or to "
                ".npy", path, format, IMAGE_FORMATS);
  }
  if (strcmp(format, "raw") == 0 && shape_ndim == 0)
    usage_error("%s is not a .npy array or a %s image, so it is read as raw float32, and the "
                "model records no input shape: give it with --shape", path, IMAGE_FORMATS);
  if (BMXInputFromFile(path, bytes, size, shape, shape_ndim, mean, (uint32_t)n_mean, std,
                       (uint32_t)n_std, &in) != 0)
    input_error();
  return in;
}

/* ---- output --------------------------------------------------------------------------- */

static void swap_bytes(unsigned char *p, size_t width) {
  size_t i;
  for (i = 0; i < width / 2; ++i) {
    unsigned char t = p[i];
    p[i] = p[width - 1 - i];
    p[width - 1 - i] = t;
  }
}

int main(int argc, char **argv) {
  const char *positional[2] = {NULL, NULL}, *shape_text = NULL, *output_path = NULL;
  const char *mean_text = NULL, *std_text = NULL;
  int n_positional = 0, top = 5, threads = 0, n_mean = 0, n_std = 0, i;
  uint32_t shape[MAX_DIMS], shape_ndim = 0, in_count, in_ndim, *out_dims, out_ndim, out_count;
  uint32_t batch;
  const uint32_t *in_dims;
  const float *in_data;
  float mean[MAX_DIMS], std[MAX_DIMS], *output;
  char *symbol_path, *params_path, shape_buf[128];
  unsigned char *symbol_json, *params, *input_bytes;
  size_t symbol_size, params_size, input_size;
  uint32_t indptr[2];
  const char *input_keys[1] = {"data"};
  BMXInputHandle in;
  BMXPredictorHandle pred = NULL;

  for (i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (arg[0] == '-' && arg[1] == '-') {
      const char *value;
      /* The name first: a misspelt option at the end is unknown, not missing its value. */
      if (strcmp(arg, "--shape") != 0 && strcmp(arg, "--threads") != 0 &&
          strcmp(arg, "--top") != 0 && strcmp(arg, "--output") != 0 &&
          strcmp(arg, "--mean") != 0 && strcmp(arg, "--std") != 0)
        usage_error("unknown option '%s'", arg);
      if (i + 1 >= argc) usage_error("%s needs a value", arg);
      value = argv[++i];
      if (strcmp(arg, "--shape") == 0) shape_text = value;
      else if (strcmp(arg, "--threads") == 0) threads = parse_positive(value, "--threads");
      else if (strcmp(arg, "--top") == 0) top = parse_positive(value, "--top");
      else if (strcmp(arg, "--output") == 0) output_path = value;
      else if (strcmp(arg, "--mean") == 0) mean_text = value;
      else if (strcmp(arg, "--std") == 0) std_text = value;
      else usage_error("unknown option '%s'", arg);
    } else {
      if (n_positional == 2) usage_error("unexpected argument '%s'", arg);
      positional[n_positional++] = arg;
    }
  }
  if (n_positional < 2) usage_error("MODEL and INPUT are required");
  if (shape_text != NULL && (shape_ndim = parse_dims(shape_text, shape)) == 0)
    usage_error("bad --shape '%s': expected 1 to %d positive integers separated by commas, "
                "batch first (e.g. 1,3,32,32)", shape_text, MAX_DIMS);
  if (mean_text) n_mean = parse_floats(mean_text, mean, "--mean");
  if (std_text) n_std = parse_floats(std_text, std, "--std");

  /* Files first, so that a missing one is reported before the model is planned. */
  resolve_model(positional[0], &symbol_path, &params_path);
  symbol_json = read_file(symbol_path, "symbol", &symbol_size);
  params = read_file(params_path, "params", &params_size);
  if (params_size > INT_MAX) die("params file %s is too large (over 2 GiB)", params_path);
  input_bytes = read_file(positional[1], "input", &input_size);

  if (shape_ndim == 0)  /* no --shape: the shape the model records, if it does */
    check(BMXSymbolInputShape((const char *)symbol_json, shape, MAX_DIMS, &shape_ndim),
          "reading the model's input shape");
  in = load_input(positional[1], input_bytes, input_size, shape, shape_ndim, mean, n_mean, std,
                  n_std);
  free(input_bytes);
  check(BMXInputGetShape(in, &in_dims, &in_ndim), "reading the input shape");
  check(BMXInputGetData(in, &in_data, &in_count), "reading the input");

  indptr[0] = 0;
  indptr[1] = in_ndim;
  format_dims(in_dims, in_ndim, shape_buf, sizeof shape_buf);
  if (BMXPredCreate((const char *)symbol_json, params, (int)params_size, DEV_CPU, 0, 1,
                    input_keys, indptr, in_dims, &pred) != 0)
    die("loading %s with input shape %s failed: %s", symbol_path, shape_buf, BMXGetLastError());
  free(params);
  free(symbol_json);
  if (threads > 0) check(BMXPredSetNumThreads(pred, threads), "setting --threads");
  check(BMXPredSetInput(pred, "data", in_data, in_count), "setting the input");
  BMXInputFree(in);
  check(BMXPredForward(pred), "the forward pass");
  check(BMXPredGetOutputShape(pred, 0, &out_dims, &out_ndim), "reading the output shape");
  if (out_ndim == 0) die("the model's output is a scalar; expected (batch, ...)");
  out_count = (uint32_t)element_count(out_dims, out_ndim, "the output shape");
  batch = out_dims[0];
  printf("output shape:");
  for (i = 0; i < (int)out_ndim; ++i) printf("%s%u", i ? "," : " ", out_dims[i]);
  putchar('\n');
  output = malloc((size_t)out_count * sizeof(float) + 1);
  if (output == NULL) die("out of memory for the output (%u floats)", out_count);
  check(BMXPredGetOutput(pred, 0, output, out_count), "reading the output");
  if (out_count / batch > 0) print_top(output, batch, out_count / batch, top);
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));

  if (output_path != NULL) {
    FILE *f = fopen(output_path, "wb");
    uint32_t j;
    if (f == NULL) die("cannot write output file %s: %s", output_path, strerror(errno));
    if (!host_is_little_endian())
      for (j = 0; j < out_count; ++j) swap_bytes((unsigned char *)&output[j], sizeof(float));
    if (fwrite(output, sizeof(float), out_count, f) != out_count || fclose(f) != 0)
      die("cannot write output file %s: %s", output_path, strerror(errno));
  }
  BMXPredFree(pred);
  free(output);
  free(symbol_path);
  free(params_path);
  return 0;
}
