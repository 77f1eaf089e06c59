/*
 * bmx_run: classify one input with a converted model through libbmx_runtime (no MXNet).
 *
 *   bmx_run MODEL INPUT [--shape N,C,H,W] [--threads N] [--top K] [--output OUT.f32]
 *           [--mean M,...] [--std S,...]
 *
 * MODEL is a model prefix (PREFIX-symbol.json and the highest PREFIX-NNNN.params) or the
 * path of either file. INPUT is recognised by its first bytes:
 *   - a .npy array (float32 or float64, C order): its shape is the input shape, a leading
 *     batch of 1 added to a 3-d array; --shape may re-view it with the same element count;
 *   - a binary PGM (P5, one channel) or PPM (P6, three channels) image, and a PNG image when
 *     built with libpng: pixels scaled to [0, 1] (then --mean subtracted, --std divided per
 *     channel), NCHW, batch 1; with --shape 1,C,H,W it is resized (bilinear) to HxW and
 *     converted to C channels (gray <-> RGB);
 *   - anything else: raw little-endian float32 of --shape (required).
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
#include <png.h>
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
          "  --shape    input shape, batch first (required for raw float32; resizes images)\n"
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

typedef struct {
  float *data;      /* NCHW (or the .npy's layout), float32 */
  uint32_t dims[MAX_DIMS];
  uint32_t ndim;
  int is_image;     /* pixels in [0, 1], dims {1, C, H, W} */
} Input;

static void swap_bytes(unsigned char *p, size_t width) {
  size_t i;
  for (i = 0; i < width / 2; ++i) {
    unsigned char t = p[i];
    p[i] = p[width - 1 - i];
    p[width - 1 - i] = t;
  }
}

/* A float32 array from little-endian bytes (copied; the source may be unaligned). */
static float *floats_from_le(const unsigned char *bytes, size_t count) {
  float *out = malloc(count * sizeof(float) + 1);
  size_t i;
  if (out == NULL) die("out of memory for the input (%lu floats)", (unsigned long)count);
  memcpy(out, bytes, count * sizeof(float));
  if (!host_is_little_endian())
    for (i = 0; i < count; ++i) swap_bytes((unsigned char *)&out[i], sizeof(float));
  return out;
}

/* .npy version 1-3: magic, version, header length, a Python dict literal, C-order data. */
static void read_npy(const char *path, const unsigned char *bytes, size_t size, Input *in) {
  size_t header_len, offset, count = 1, i;
  const char *header, *p;
  char descr[16];
  int little = 1, width = 0;

  if (size < 10) die("%s: truncated .npy header", path);
  if (bytes[6] == 1) {
    header_len = bytes[8] | (size_t)bytes[9] << 8;
    offset = 10;
  } else if (bytes[6] == 2 || bytes[6] == 3) {
    if (size < 12) die("%s: truncated .npy header", path);
    header_len = bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 |
                 (size_t)bytes[11] << 24;
    offset = 12;
  } else {
    die("%s: .npy format version %d is not supported (1 to 3 are)", path, bytes[6]);
  }
  if (header_len > size - offset) die("%s: truncated .npy header", path);
  header = (const char *)bytes + offset;  /* the file buffer is NUL-terminated after it */

  p = strstr(header, "'descr':");
  if (p == NULL || (size_t)(p - header) > header_len) die("%s: .npy header has no descr", path);
  p += strlen("'descr':");
  while (*p == ' ') ++p;
  if (sscanf(p, "'%15[^']'", descr) != 1) die("%s: unreadable .npy descr", path);
  if (strcmp(descr, "<f4") == 0 || strcmp(descr, "=f4") == 0) width = 4;
  else if (strcmp(descr, ">f4") == 0) width = 4, little = 0;
  else if (strcmp(descr, "<f8") == 0 || strcmp(descr, "=f8") == 0) width = 8;
  else if (strcmp(descr, ">f8") == 0) width = 8, little = 0;
  else die("%s: .npy of dtype %s; save it as float32 (x.astype('float32'))", path, descr);

  p = strstr(header, "'fortran_order':");
  if (p == NULL) die("%s: .npy header has no fortran_order", path);
  p += strlen("'fortran_order':");
  while (*p == ' ') ++p;
  if (strncmp(p, "False", 5) != 0)
    die("%s: .npy in Fortran order; save it in C order (np.ascontiguousarray)", path);

  p = strstr(header, "'shape':");
  if (p == NULL) die("%s: .npy header has no shape", path);
  p = strchr(p, '(');
  if (p == NULL) die("%s: unreadable .npy shape", path);
  ++p;
  in->ndim = 0;
  for (;;) {
    char *end;
    unsigned long long v;
    while (*p == ' ' || *p == ',') ++p;
    if (*p == ')') break;
    errno = 0;
    v = strtoull(p, &end, 10);
    if (end == p || errno != 0 || v == 0 || v > UINT32_MAX)
      die("%s: .npy shape must be positive dimensions", path);
    if (in->ndim == MAX_DIMS) die("%s: .npy has more than %d dimensions", path, MAX_DIMS);
    in->dims[in->ndim++] = (uint32_t)v;
    count *= v;
    if (count > UINT32_MAX / sizeof(float)) die("%s: .npy array is too large", path);
    p = end;
  }
  if (in->ndim == 0) die("%s: .npy holds a scalar, not an input array", path);
  offset += header_len;
  if (size - offset != count * (size_t)width)
    die("%s: .npy data has %lu bytes, its shape needs %lu", path,
        (unsigned long)(size - offset), (unsigned long)(count * (size_t)width));
  in->data = malloc(count * sizeof(float) + 1);
  if (in->data == NULL) die("out of memory for the input");
  for (i = 0; i < count; ++i) {
    unsigned char b[8];
    memcpy(b, bytes + offset + i * (size_t)width, (size_t)width);
    if (little != host_is_little_endian()) swap_bytes(b, (size_t)width);
    if (width == 4) {
      float f;
      memcpy(&f, b, 4);
      in->data[i] = f;
    } else {
      double d;
      memcpy(&d, b, 8);
      in->data[i] = (float)d;
    }
  }
  if (in->ndim == 3) {  /* one sample, C,H,W: add the batch */
    memmove(in->dims + 1, in->dims, 3 * sizeof in->dims[0]);
    in->dims[0] = 1;
    in->ndim = 4;
  }
}

/* Skips whitespace and '#' comments in a PNM header; reads one unsigned integer. */
static unsigned long pnm_number(const char *path, const unsigned char *bytes, size_t size,
                                size_t *pos) {
  unsigned long v = 0;
  int digits = 0;
  for (;;) {
    if (*pos >= size) die("%s: truncated PGM/PPM header", path);
    if (bytes[*pos] == '#') {
      while (*pos < size && bytes[*pos] != '\n') ++*pos;
    } else if (isspace(bytes[*pos])) {
      ++*pos;
    } else {
      break;
    }
  }
  while (*pos < size && isdigit(bytes[*pos])) {
    v = v * 10 + (unsigned long)(bytes[(*pos)++] - '0');
    if (v > 1000000UL) die("%s: PGM/PPM header value too large", path);
    ++digits;
  }
  if (!digits) die("%s: malformed PGM/PPM header", path);
  return v;
}

/* Binary PGM (P5) / PPM (P6) -> planar floats in [0, 1]. */
static void read_pnm(const char *path, const unsigned char *bytes, size_t size, Input *in) {
  size_t pos = 2, pixels, i;
  unsigned long width, height, maxval, channels = bytes[1] == '6' ? 3 : 1, c, bpp;
  width = pnm_number(path, bytes, size, &pos);
  height = pnm_number(path, bytes, size, &pos);
  maxval = pnm_number(path, bytes, size, &pos);
  if (width == 0 || height == 0 || maxval == 0 || maxval > 65535)
    die("%s: PGM/PPM needs a positive width and height and a maxval of 1 to 65535", path);
  if (pos >= size || !isspace(bytes[pos])) die("%s: malformed PGM/PPM header", path);
  ++pos;  /* exactly one whitespace byte before the pixels */
  bpp = maxval > 255 ? 2 : 1;
  pixels = (size_t)width * height;
  if (size - pos < pixels * channels * bpp)
    die("%s: PGM/PPM holds %lu pixel bytes, %lux%lu needs %lu", path,
        (unsigned long)(size - pos), width, height, (unsigned long)(pixels * channels * bpp));
  in->data = malloc(pixels * channels * sizeof(float) + 1);
  if (in->data == NULL) die("out of memory for the image");
  for (i = 0; i < pixels; ++i)
    for (c = 0; c < channels; ++c) {
      const unsigned char *p = bytes + pos + (i * channels + c) * bpp;
      unsigned v = bpp == 2 ? (unsigned)p[0] << 8 | p[1] : p[0];  /* 16-bit PNM: big-endian */
      in->data[c * pixels + i] = (float)v / (float)maxval;
    }
  in->ndim = 4;
  in->dims[0] = 1;
  in->dims[1] = (uint32_t)channels;
  in->dims[2] = (uint32_t)height;
  in->dims[3] = (uint32_t)width;
  in->is_image = 1;
}

#ifdef BMX_RUN_HAVE_PNG
static void read_png(const char *path, const unsigned char *bytes, size_t size, Input *in) {
  png_image image;
  unsigned char *pixels;
  size_t count, i, c, channels;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes, size))
    die("%s: not a readable PNG image (%s)", path, image.message);
  channels = (image.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  count = (size_t)image.width * image.height;
  pixels = malloc(PNG_IMAGE_SIZE(image));
  in->data = malloc(count * channels * sizeof(float) + 1);
  if (pixels == NULL || in->data == NULL) die("out of memory for the image");
  if (!png_image_finish_read(&image, NULL, pixels, 0, NULL))
    die("%s: not a readable PNG image (%s)", path, image.message);
  for (i = 0; i < count; ++i)
    for (c = 0; c < channels; ++c) in->data[c * count + i] = pixels[i * channels + c] / 255.0f;
  free(pixels);
  in->ndim = 4;
  in->dims[0] = 1;
  in->dims[1] = (uint32_t)channels;
  in->dims[2] = image.height;
  in->dims[3] = image.width;
  in->is_image = 1;
}
#endif

/* Source index pair and weight for output coordinate f (already in source pixels). */
static void linear_taps(float f, uint32_t n, uint32_t *i0, uint32_t *i1, float *weight) {
  uint32_t a;
  if (f <= 0.0f) {
    *i0 = *i1 = 0;
    *weight = 0.0f;
    return;
  }
  a = (uint32_t)f;
  if (a >= n - 1) {
    *i0 = *i1 = n - 1;
    *weight = 0.0f;
    return;
  }
  *i0 = a;
  *i1 = a + 1;
  *weight = f - (float)a;
}

/* Bilinear resize of planar channels (half-pixel centres, as OpenCV's INTER_LINEAR). */
static float *resize_bilinear(const float *src, uint32_t channels, uint32_t h, uint32_t w,
                              uint32_t oh, uint32_t ow) {
  float *dst = malloc((size_t)channels * oh * ow * sizeof(float) + 1);
  uint32_t c, y, x, y0, y1, x0, x1;
  float wy, wx;
  if (dst == NULL) die("out of memory resizing the image");
  for (c = 0; c < channels; ++c) {
    const float *plane = src + (size_t)c * h * w;
    for (y = 0; y < oh; ++y) {
      linear_taps(((float)y + 0.5f) * (float)h / (float)oh - 0.5f, h, &y0, &y1, &wy);
      for (x = 0; x < ow; ++x) {
        linear_taps(((float)x + 0.5f) * (float)w / (float)ow - 0.5f, w, &x0, &x1, &wx);
        dst[((size_t)c * oh + y) * ow + x] =
            (1 - wy) * ((1 - wx) * plane[(size_t)y0 * w + x0] + wx * plane[(size_t)y0 * w + x1]) +
            wy * ((1 - wx) * plane[(size_t)y1 * w + x0] + wx * plane[(size_t)y1 * w + x1]);
      }
    }
  }
  return dst;
}

/* The image as the model takes it: --shape's size and channels, --mean and --std. */
static void prepare_image(Input *in, const uint32_t *shape, uint32_t shape_ndim,
                          const float *mean, int n_mean, const float *std, int n_std) {
  uint32_t channels = in->dims[1], h = in->dims[2], w = in->dims[3], c;
  size_t plane, i;
  if (shape_ndim > 0) {
    if (shape_ndim != 4 || shape[0] != 1)
      usage_error("--shape for an image must be 1,C,H,W (one image), got %u dimensions%s",
                  shape_ndim, shape_ndim == 4 ? " with a batch above 1" : "");
    if (shape[1] != 1 && shape[1] != 3)
      die("the model takes %u channels; an image gives 1 (gray) or 3 (RGB)", shape[1]);
    if (shape[2] != h || shape[3] != w) {
      float *resized = resize_bilinear(in->data, channels, h, w, shape[2], shape[3]);
      free(in->data);
      in->data = resized;
      h = in->dims[2] = shape[2];
      w = in->dims[3] = shape[3];
    }
    plane = (size_t)h * w;
    if (shape[1] != channels) {
      float *converted = malloc((size_t)shape[1] * plane * sizeof(float) + 1);
      if (converted == NULL) die("out of memory converting the image");
      for (i = 0; i < plane; ++i) {
        if (shape[1] == 1)  /* RGB -> gray: ITU-R BT.601 luma */
          converted[i] = 0.299f * in->data[i] + 0.587f * in->data[plane + i] +
                         0.114f * in->data[2 * plane + i];
        else
          converted[i] = converted[plane + i] = converted[2 * plane + i] = in->data[i];
      }
      free(in->data);
      in->data = converted;
      channels = in->dims[1] = shape[1];
    }
  }
  plane = (size_t)h * w;
  if ((n_mean && n_mean != 1 && (uint32_t)n_mean != channels) ||
      (n_std && n_std != 1 && (uint32_t)n_std != channels))
    usage_error("--mean and --std need 1 or %u values (the image's channels)", channels);
  for (c = 0; c < channels; ++c) {
    float m = n_mean ? mean[n_mean == 1 ? 0 : c] : 0.0f;
    float s = n_std ? std[n_std == 1 ? 0 : c] : 1.0f;
    if (s == 0.0f) usage_error("--std values must not be 0");
    for (i = 0; i < plane; ++i) in->data[c * plane + i] = (in->data[c * plane + i] - m) / s;
  }
}

/* ---- output --------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  const char *positional[2] = {NULL, NULL}, *shape_text = NULL, *output_path = NULL;
  const char *mean_text = NULL, *std_text = NULL;
  int n_positional = 0, top = 5, threads = 0, n_mean = 0, n_std = 0, i;
  uint32_t shape[MAX_DIMS], shape_ndim = 0, in_count, *out_dims, out_ndim, out_count, batch;
  float mean[MAX_DIMS], std[MAX_DIMS], *output;
  char *symbol_path, *params_path, shape_buf[128];
  unsigned char *symbol_json, *params, *input_bytes;
  size_t symbol_size, params_size, input_size;
  uint32_t indptr[2];
  const char *input_keys[1] = {"data"};
  Input in;
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

  memset(&in, 0, sizeof in);
  if (input_size >= 6 && memcmp(input_bytes, "\x93NUMPY", 6) == 0) {
    read_npy(positional[1], input_bytes, input_size, &in);
    if (shape_ndim > 0) {
      const uint32_t want = element_count(shape, shape_ndim, "the input shape");
      const uint32_t have = element_count(in.dims, in.ndim, "the input shape");
      if (want != have)
        die("--shape %s has %lu elements, the .npy array %lu", shape_text,
            (unsigned long)want, (unsigned long)have);
      memcpy(in.dims, shape, shape_ndim * sizeof shape[0]);
      in.ndim = shape_ndim;
    }
  } else if (input_size >= 2 && input_bytes[0] == 'P' &&
             (input_bytes[1] == '5' || input_bytes[1] == '6') &&
             (ends_with(positional[1], ".pgm") || ends_with(positional[1], ".ppm") ||
              ends_with(positional[1], ".pnm") || shape_ndim == 0)) {
    read_pnm(positional[1], input_bytes, input_size, &in);
  } else if (input_size >= 8 && memcmp(input_bytes, "\x89PNG\r\n\x1a\n", 8) == 0) {
#ifdef BMX_RUN_HAVE_PNG
    read_png(positional[1], input_bytes, input_size, &in);
#else
    die("%s is a PNG image, but this bmx_run was built without libpng; convert it to PPM "
        "(e.g. `convert in.png out.ppm`) or to .npy", positional[1]);
#endif
  } else {
    if (shape_ndim == 0)
      usage_error("%s is not a .npy array or a %s image, so it is read as raw float32, "
                  "which needs --shape", positional[1], IMAGE_FORMATS);
    in_count = (uint32_t)element_count(shape, shape_ndim, "the input shape");
    if (input_size != (size_t)in_count * sizeof(float))
      die("input file %s has %lu bytes, but shape %s needs %lu (float32)", positional[1],
          (unsigned long)input_size, shape_text, (unsigned long)in_count * sizeof(float));
    in.data = floats_from_le(input_bytes, in_count);
    memcpy(in.dims, shape, shape_ndim * sizeof shape[0]);
    in.ndim = shape_ndim;
  }
  if (in.is_image) prepare_image(&in, shape, shape_ndim, mean, n_mean, std, n_std);
  else if (n_mean || n_std) usage_error("--mean and --std apply to images only");
  free(input_bytes);
  in_count = (uint32_t)element_count(in.dims, in.ndim, "the input shape");

  indptr[0] = 0;
  indptr[1] = in.ndim;
  format_dims(in.dims, in.ndim, shape_buf, sizeof shape_buf);
  if (BMXPredCreate((const char *)symbol_json, params, (int)params_size, DEV_CPU, 0, 1,
                    input_keys, indptr, in.dims, &pred) != 0)
    die("loading %s with input shape %s failed: %s", symbol_path, shape_buf, BMXGetLastError());
  free(params);
  free(symbol_json);
  if (threads > 0) check(BMXPredSetNumThreads(pred, threads), "setting --threads");
  check(BMXPredSetInput(pred, "data", in.data, in_count), "setting the input");
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
  free(in.data);
  free(symbol_path);
  free(params_path);
  return 0;
}
