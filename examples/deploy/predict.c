/*
 * bmx_predict: run an MXNet model that uses bmxnet's binary operators from plain C,
 * through MXNet's C predict API (mxnet/c_predict_api.h) and the stock libmxnet.so.
 *
 *   bmx_predict [--lib libbmxnet_ops.so] --symbol S.json --params P.params
 *               --input IN.bin [--shape N,C,H,W] [--output OUT.bin] [--top K]
 *
 * Built with -DBMX_RUNTIME (CMake target bmx_predict_runtime), the same program runs a
 * converted model through libbmx_runtime instead (bmx_predict.h, no MXNet): its BMXPred*
 * calls take the same arguments as MXPred*, so the only change is the names below. That
 * build has no --lib (the runtime has the bmx_ ops built in).
 *
 * IN.bin holds raw little-endian float32 values of the given shape (the first dimension
 * is the batch). Without --shape, the shape recorded in the symbol at export or conversion
 * (the input node's "bmx_input_shape" attribute, e.g. "(1, 1, 28, 28)") is used, with as many
 * samples as IN.bin holds. Before MXNet sees the model, the names in P.params are checked
 * against the symbol's variables (the same sentence as model-converter and bmxnet predict).
 * Prints the output shape, then one line per sample with its top-K classes
 * and their scores as the model produces them (no softmax is added). --output writes the
 * first output of the model as raw little-endian float32.
 *
 * Any failure prints one line to stderr and exits with status 1 (2 for a usage error).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BMX_RUNTIME
/* libbmx_runtime: the same calls with the prefix BMX. */
#include <bmx_predict.h>
typedef BMXPredictorHandle PredictorHandle;
#define MXGetLastError BMXGetLastError
#define MXPredCreate BMXPredCreate
#define MXPredSetInput BMXPredSetInput
#define MXPredForward BMXPredForward
#define MXPredGetOutputShape BMXPredGetOutputShape
#define MXPredGetOutput BMXPredGetOutput
#define MXPredFree BMXPredFree
#else
/* Needs <stdbool.h> and <stdint.h> first: in C it uses bool and uint32_t without them. */
#include <mxnet/c_predict_api.h>

#ifdef __linux__
#include <link.h> /* ElfW(): the ELF types of this host */
#endif

/* From mxnet/c_api.h, which cannot be included next to c_predict_api.h in C99: both
 * typedef mx_uint, mx_float and NDArrayHandle, and C99 forbids repeating a typedef. */
int MXLoadLib(const char *path, unsigned verbose);
int MXNDArrayLoadFromBuffer(const void *buffer, size_t size, uint32_t *out_size,
                            void ***out_arrays, uint32_t *out_name_size, const char ***out_names);
int MXNDArrayFree(void *handle);
#endif

#define DEV_CPU 1

#ifdef BMX_RUNTIME
static const char *g_prog = "bmx_predict_runtime";
#define ENGINE "the runtime"
#define LIB_USAGE ""
#define LIB_HELP ""
#else
static const char *g_prog = "bmx_predict";
#define ENGINE "MXNet"
#define LIB_USAGE "[--lib LIBBMXNET_OPS.so] "
#define LIB_HELP "  --lib     operator library to load first (MXLoadLib), e.g. libbmxnet_ops.so\n"
#endif

#include "cli_common.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s " LIB_USAGE "--symbol S.json --params P.params\n"
          "       %*s --input IN.bin [--shape N,C,H,W] [--output OUT.bin] [--top K]\n"
          "\n"
          LIB_HELP
          "  --symbol  model graph, <prefix>-symbol.json\n"
          "  --params  model parameters, <prefix>-NNNN.params\n"
          "  --input   raw little-endian float32 input of shape --shape\n"
          "  --shape   input shape, comma separated, batch first (e.g. 1,3,32,32);\n"
          "            default: the shape recorded in the symbol, batch from --input's size\n"
          "  --output  write the raw float32 output here\n"
          "  --top     classes to print per sample (default 5)\n",
          g_prog, (int)strlen(g_prog), "");
}

/* MXNet's messages span several lines ("[time] file:line: message", then a stack trace).
 * Keep the message itself, on one line. */
static const char *mxnet_error(void) {
  static char buf[2048];
  const char *msg = MXGetLastError();
  const char *end;
  size_t n = 0;
  int space = 0;

  if (msg == NULL || *msg == '\0') return "unknown " ENGINE " error";
  end = strstr(msg, "Stack trace");
  if (end == NULL) end = msg + strlen(msg);
  for (; msg < end && n + 1 < sizeof buf; ++msg) {
    if (isspace((unsigned char)*msg)) {
      space = n > 0;
    } else {
      if (space) buf[n++] = ' ';
      if (n + 1 < sizeof buf) buf[n++] = *msg;
      space = 0;
    }
  }
  buf[n] = '\0';
  return n ? buf : "unknown " ENGINE " error";
}

static void check_mx(int rc, const char *what) {
  if (rc != 0) die("%s failed: %s", what, mxnet_error());
}

#if defined(__linux__) && !defined(BMX_RUNTIME)
/* Whether the shared library at `path` was linked with -Wl,-Bsymbolic (DT_SYMBOLIC, or
 * DF_SYMBOLIC in DT_FLAGS). Returns -1 when it cannot tell (not a native ELF file, ...). */
static int linked_symbolic(const char *path) {
  FILE *f = fopen(path, "rb");
  ElfW(Ehdr) eh;
  ElfW(Phdr) ph;
  ElfW(Dyn) dyn;
  int i, result = -1;

  if (f == NULL) return -1;
  if (fread(&eh, sizeof eh, 1, f) != 1 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32))
    goto done;
  for (i = 0; i < eh.e_phnum; ++i) {
    if (fseek(f, (long)(eh.e_phoff + (ElfW(Off))i * eh.e_phentsize), SEEK_SET) != 0 ||
        fread(&ph, sizeof ph, 1, f) != 1)
      goto done;
    if (ph.p_type == PT_DYNAMIC) break;
  }
  if (i == eh.e_phnum || fseek(f, (long)ph.p_offset, SEEK_SET) != 0) goto done;
  result = 0;
  while (fread(&dyn, sizeof dyn, 1, f) == 1 && dyn.d_tag != DT_NULL) {
    if (dyn.d_tag == DT_SYMBOLIC || (dyn.d_tag == DT_FLAGS && (dyn.d_un.d_val & DF_SYMBOLIC))) {
      result = 1;
      break;
    }
  }
done:
  fclose(f);
  return result;
}
#endif

#ifndef BMX_RUNTIME
/* MXLoadLib, with a check first: a lib_api library that does not bind its own symbols
 * registers its operators into libmxnet.so's copy of the lib_api registry and crashes
 * in static initialisation, inside MXLoadLib, with no message. */
static void load_library(const char *path) {
  char local[4096];
  FILE *f = fopen(path, "rb");
  if (f == NULL) die("cannot open operator library %s: %s", path, strerror(errno));
  fclose(f);
  /* dlopen looks for a bare file name on the library search path, not here. */
  if (strchr(path, '/') == NULL) {
    if (snprintf(local, sizeof local, "./%s", path) >= (int)sizeof local)
      die("operator library path %s is too long", path);
    path = local;
  }
#ifdef __linux__
  if (linked_symbolic(path) == 0)
    die("operator library %s was not linked with -Wl,-Bsymbolic, so loading it next to "
        "libmxnet.so would crash; relink it with -Wl,-Bsymbolic", path);
#endif
  check_mx(MXLoadLib(path, 0), "loading the operator library");
}
#endif

/* Parses --shape's "N,C,H,W" (1 to MAX_DIMS positive integers); returns the number of dims. */
static uint32_t parse_shape(const char *text, uint32_t *dims) {
  const uint32_t ndim = parse_dims(text, dims);
  if (ndim == 0)
    usage_error("bad --shape '%s': expected 1 to %d positive integers separated by commas, "
                "batch first (e.g. 1,3,32,32)", text, MAX_DIMS);
  return ndim;
}

/* ---- The symbol file, read just enough: the variable nodes' names and the input shape ---- */

#define MAX_NAME 512

typedef struct {
  const char *p, *end;
} JsonCursor;

typedef struct {
  char **names; /* the variable nodes (op "null"), in file order */
  size_t count, cap;
  char input_shape[128]; /* the input node's bmx_input_shape, "" when not recorded */
} SymbolInfo;

static void json_ws(JsonCursor *c) {
  while (c->p < c->end && isspace((unsigned char)*c->p)) ++c->p;
}

static int json_expect(JsonCursor *c, char ch) {
  json_ws(c);
  if (c->p < c->end && *c->p == ch) {
    ++c->p;
    return 1;
  }
  return 0;
}

/* A string into out (truncated to cap - 1; escapes kept as the escaped character). */
static int json_string(JsonCursor *c, char *out, size_t cap) {
  size_t n = 0;
  if (!json_expect(c, '"')) return 0;
  while (c->p < c->end && *c->p != '"') {
    char ch = *c->p++;
    if (ch == '\\' && c->p < c->end) ch = *c->p++;
    if (out != NULL && n + 1 < cap) out[n++] = ch;
  }
  if (out != NULL && cap > 0) out[n] = '\0';
  return json_expect(c, '"');
}

static int json_skip(JsonCursor *c, int depth) {
  json_ws(c);
  if (c->p >= c->end || depth > 64) return 0;
  if (*c->p == '"') return json_string(c, NULL, 0);
  if (*c->p == '{' || *c->p == '[') {
    char close = *c->p == '{' ? '}' : ']';
    ++c->p;
    if (json_expect(c, close)) return 1;
    do {
      if (close == '}' && (!json_string(c, NULL, 0) || !json_expect(c, ':'))) return 0;
      if (!json_skip(c, depth + 1)) return 0;
    } while (json_expect(c, ','));
    return json_expect(c, close);
  }
  while (c->p < c->end && (isalnum((unsigned char)*c->p) || strchr("+-.", *c->p))) ++c->p;
  return 1;
}

/* One node object: its op, its name and (attrs or attr).bmx_input_shape. */
static int json_node(JsonCursor *c, char *op, char *name, char *shape, size_t shape_cap) {
  char key[64];
  op[0] = name[0] = shape[0] = '\0';
  if (!json_expect(c, '{')) return 0;
  if (json_expect(c, '}')) return 1;
  do {
    if (!json_string(c, key, sizeof key) || !json_expect(c, ':')) return 0;
    if (strcmp(key, "op") == 0) {
      if (!json_string(c, op, MAX_NAME)) return 0;
    } else if (strcmp(key, "name") == 0) {
      if (!json_string(c, name, MAX_NAME)) return 0;
    } else if (strcmp(key, "attrs") == 0 || strcmp(key, "attr") == 0) {
      char attr[64];
      if (!json_expect(c, '{')) return 0;
      if (!json_expect(c, '}')) {
        do {
          if (!json_string(c, attr, sizeof attr) || !json_expect(c, ':')) return 0;
          if (strcmp(attr, "bmx_input_shape") == 0) {
            if (!json_string(c, shape, shape_cap)) return 0;
          } else if (!json_skip(c, 1)) {
            return 0;
          }
        } while (json_expect(c, ','));
        if (!json_expect(c, '}')) return 0;
      }
    } else if (!json_skip(c, 1)) {
      return 0;
    }
  } while (json_expect(c, ','));
  return json_expect(c, '}');
}

/* The variable names and the recorded shape of input `input`; dies if the file is not a
 * symbol's JSON. */
static void read_symbol_info(const char *json, size_t size, const char *path, const char *input,
                             SymbolInfo *info) {
  JsonCursor c = {json, json + size};
  char key[64], op[MAX_NAME], name[MAX_NAME], shape[128];
  int found_nodes = 0;

  memset(info, 0, sizeof *info);
  if (!json_expect(&c, '{')) die("%s is not an MXNet symbol file (not a JSON object)", path);
  if (!json_expect(&c, '}')) {
    do {
      if (!json_string(&c, key, sizeof key) || !json_expect(&c, ':')) break;
      if (strcmp(key, "nodes") != 0) {
        if (!json_skip(&c, 0)) break;
        continue;
      }
      found_nodes = 1;
      if (!json_expect(&c, '[')) break;
      if (json_expect(&c, ']')) continue;
      do {
        if (!json_node(&c, op, name, shape, sizeof shape)) die("%s: malformed node list", path);
        if (strcmp(op, "null") != 0) continue;
        if (info->count == info->cap) {
          char **grown;
          info->cap = info->cap ? 2 * info->cap : 64;
          grown = realloc(info->names, info->cap * sizeof *grown);
          if (grown == NULL) die("out of memory reading %s", path);
          info->names = grown;
        }
        info->names[info->count] = malloc(strlen(name) + 1);
        if (info->names[info->count] == NULL) die("out of memory reading %s", path);
        strcpy(info->names[info->count++], name);
        if (strcmp(name, input) == 0) snprintf(info->input_shape, sizeof info->input_shape, "%s", shape);
      } while (json_expect(&c, ','));
      if (!json_expect(&c, ']')) die("%s: malformed node list", path);
    } while (json_expect(&c, ','));
  }
  if (!found_nodes) die("%s is not an MXNet symbol file (no \"nodes\" list)", path);
}

#ifndef BMX_RUNTIME
static int symbol_has(const SymbolInfo *info, const char *name) {
  size_t i;
  for (i = 0; i < info->count; ++i)
    if (strcmp(info->names[i], name) == 0) return 1;
  return 0;
}

static const char *param_name(const char *key) {
  return strncmp(key, "arg:", 4) == 0 || strncmp(key, "aux:", 4) == 0 ? key + 4 : key;
}

/* Dies with the converter's sentence when the params file does not belong to the symbol:
 * parameters the symbol does not have, or a variable (other than the input) without one. */
static void check_params_match(const char *params, size_t params_size, const char *params_path,
                               const char *symbol_path, const SymbolInfo *info,
                               const char *input) {
  uint32_t n_arrays = 0, n_names = 0, i, extra = 0;
  void **arrays = NULL;
  const char **names = NULL;
  char shown[1024] = "";
  const char *missing = NULL;
  size_t k, used = 0;

  check_mx(MXNDArrayLoadFromBuffer(params, params_size, &n_arrays, &arrays, &n_names, &names),
           "reading --params");
  for (i = 0; i < n_names; ++i) {
    if (symbol_has(info, param_name(names[i]))) continue;
    if (extra < 3 && used < sizeof shown)
      used += (size_t)snprintf(shown + used, sizeof shown - used, "%s%s", extra ? ", " : "",
                               names[i]);
    ++extra;
  }
  if (extra > 3 && used < sizeof shown) snprintf(shown + used, sizeof shown - used, ", ...");
  if (extra == 0) {
    for (k = 0; k < info->count; ++k) {
      const char *var = info->names[k];
      int have = strcmp(var, input) == 0;
      for (i = 0; i < n_names && !have; ++i) have = strcmp(param_name(names[i]), var) == 0;
      if (!have && (missing == NULL || strcmp(var, missing) < 0)) missing = var;
    }
  }
  if (extra > 0)
    die("%s does not match %s: %u of its %u parameters are not in the symbol (%s); the two "
        "files seem to come from different models, pass the .params file exported together "
        "with this symbol", params_path, symbol_path, extra, n_names, shown);
  if (missing != NULL)
    die("%s does not match %s: parameter %s is missing; the two files seem to come from "
        "different models, pass the .params file exported together with this symbol",
        params_path, symbol_path, missing);
  for (i = 0; i < n_arrays; ++i) MXNDArrayFree(arrays[i]);
}
#endif

/* The recorded "(1, 1, 28, 28)" as "1,1,28,28" for parse_shape; dies if malformed. */
static void recorded_shape_text(const char *recorded, const char *symbol_path, char *out,
                                size_t cap) {
  size_t n = 0;
  const char *p = recorded;
  if (*p++ != '(') goto bad;
  for (; *p && *p != ')'; ++p) {
    if (isspace((unsigned char)*p)) continue;
    if (!isdigit((unsigned char)*p) && *p != ',') goto bad;
    if (n + 1 >= cap) goto bad;
    out[n++] = *p;
  }
  if (*p != ')' || n == 0) goto bad;
  if (out[n - 1] == ',') --n;
  out[n] = '\0';
  return;
bad:
  die("%s records the input shape as '%s'; expected the form (1, 3, 32, 32)", symbol_path,
      recorded);
}


/* The files are little-endian; swap in place on a big-endian host. */
static void to_from_little_endian(float *values, size_t count) {
  size_t i;
  if (host_is_little_endian()) return;
  for (i = 0; i < count; ++i) {
    unsigned char *b = (unsigned char *)&values[i], t;
    t = b[0]; b[0] = b[3]; b[3] = t;
    t = b[1]; b[1] = b[2]; b[2] = t;
  }
}

int main(int argc, char **argv) {
  const char *lib = NULL, *symbol_path = NULL, *params_path = NULL, *input_path = NULL;
  const char *shape_text = NULL, *output_path = NULL;
  int top = 5, i, rc;

  uint32_t in_dims[MAX_DIMS], in_ndim, in_count;
  uint32_t *out_dims, out_ndim, out_count, batch, classes;
  uint32_t indptr[2];
  const char *input_keys[1] = {"data"};
  char *symbol_json, *params, *input, recorded[128];
  SymbolInfo info;
  size_t k;
  float *output;
  size_t symbol_size, params_size, input_size;
  PredictorHandle pred = NULL;

  for (i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char **dest = NULL;
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      return 0;
    }
    if (strcmp(arg, "--lib") == 0) dest = &lib;
    else if (strcmp(arg, "--symbol") == 0) dest = &symbol_path;
    else if (strcmp(arg, "--params") == 0) dest = &params_path;
    else if (strcmp(arg, "--input") == 0) dest = &input_path;
    else if (strcmp(arg, "--shape") == 0) dest = &shape_text;
    else if (strcmp(arg, "--output") == 0) dest = &output_path;
    else if (strcmp(arg, "--top") != 0)
      usage_error("unknown argument '%s'", arg);
    if (i + 1 >= argc) usage_error("%s needs a value", arg);
    if (dest != NULL) *dest = argv[++i];
    else top = parse_positive(argv[++i], "--top");
  }
  if (!symbol_path || !params_path || !input_path)
    usage_error("--symbol, --params and --input are required");

#ifdef BMX_RUNTIME
  if (lib != NULL)
    usage_error("--lib is for MXNet builds; %s has the bmx_ operators built in, drop --lib", g_prog);
#endif

  /* Read everything first, so that a missing file is reported before MXNet starts. */
  symbol_json = (char *)read_file(symbol_path, "symbol", &symbol_size);
  params = (char *)read_file(params_path, "params", &params_size);
  input = (char *)read_file(input_path, "input", &input_size);
  if (params_size > INT_MAX) die("params file %s is too large (over 2 GiB)", params_path);
  read_symbol_info(symbol_json, symbol_size, symbol_path, input_keys[0], &info);

  if (shape_text == NULL) {
    /* The recorded shape, with the batch that the input file holds. */
    uint32_t sample;
    if (info.input_shape[0] == '\0')
      die("%s does not record its input shape (exported before bmxnet recorded it); pass "
          "--shape N,C,H,W", symbol_path);
    recorded_shape_text(info.input_shape, symbol_path, recorded, sizeof recorded);
    in_ndim = parse_shape(recorded, in_dims);
    sample = element_count(in_dims + 1, in_ndim - 1, "a sample");
    if (input_size == 0 || input_size % ((size_t)sample * sizeof(float)) != 0)
      die("input file %s has %lu bytes, not a whole number of samples of shape %s "
          "(%lu bytes of float32 each); pass --shape if the model takes another", input_path,
          (unsigned long)input_size, info.input_shape, (unsigned long)sample * sizeof(float));
    in_dims[0] = (uint32_t)(input_size / ((size_t)sample * sizeof(float)));
    shape_text = info.input_shape;
  } else {
    in_ndim = parse_shape(shape_text, in_dims);
  }
  in_count = element_count(in_dims, in_ndim, "the input");
  if (input_size != (size_t)in_count * sizeof(float))
    die("input file %s has %lu bytes, but shape %s needs %lu (float32)", input_path,
        (unsigned long)input_size, shape_text, (unsigned long)in_count * sizeof(float));
  to_from_little_endian((float *)input, in_count);

#ifndef BMX_RUNTIME
  /* Register the library's operators (bmx_*) before the graph that uses them is parsed. */
  if (lib != NULL) load_library(lib);
  /* The runtime checks the names itself when it reads the params. */
  check_params_match(params, params_size, params_path, symbol_path, &info, input_keys[0]);
#endif

  indptr[0] = 0;
  indptr[1] = in_ndim;
  rc = MXPredCreate(symbol_json, params, (int)params_size, DEV_CPU, 0, 1, input_keys, indptr,
                    in_dims, &pred);
#ifndef BMX_RUNTIME
  /* A converted model without --lib: MXNet only knows that bmx_binary_conv2d is not registered;
   * say which option registers it. */
  if (rc != 0 && lib == NULL && strstr(mxnet_error(), "not registered") != NULL &&
      strstr(mxnet_error(), "bmx_") != NULL)
    usage_error("%s uses bmxnet's bmx_* operators, which MXNet only knows once they are loaded: "
                "pass --lib with the path of libbmxnet_ops.so (python -c 'import bmxnet; "
                "print(bmxnet.library_path())' prints it)", symbol_path);
#endif
  check_mx(rc, "creating the predictor from --symbol and --params");
  check_mx(MXPredSetInput(pred, "data", (const float *)input, in_count), "setting the input");
  check_mx(MXPredForward(pred), "the forward pass");

  check_mx(MXPredGetOutputShape(pred, 0, &out_dims, &out_ndim), "reading the output shape");
  if (out_ndim == 0) die("the model's output is a scalar; expected (batch, ...)");
  out_count = element_count(out_dims, out_ndim, "the output");
  batch = out_dims[0];
  if (batch != in_dims[0])
    die("the output's first dimension is %u, but the batch is %u", batch, in_dims[0]);
  classes = out_count / batch;
  printf("output shape:");
  for (i = 0; i < (int)out_ndim; ++i) printf("%s%u", i ? "," : " ", out_dims[i]);
  putchar('\n');

  output = malloc((size_t)out_count * sizeof(float) + 1);
  if (output == NULL) die("out of memory for the output (%u floats)", out_count);
  check_mx(MXPredGetOutput(pred, 0, output, out_count), "reading the output");

  if (classes > 0) print_top(output, batch, classes, top);
  if (fflush(stdout) != 0) die("cannot write to stdout: %s", strerror(errno));

  if (output_path != NULL) {
    FILE *f = fopen(output_path, "wb");
    size_t written;
    if (f == NULL) die("cannot write output file %s: %s", output_path, strerror(errno));
    to_from_little_endian(output, out_count);
    written = fwrite(output, sizeof(float), out_count, f);
    if (written != out_count || fclose(f) != 0)
      die("cannot write output file %s: %s", output_path, strerror(errno));
  }

  MXPredFree(pred);
  free(output);
  free(input);
  free(params);
  free(symbol_json);
  for (k = 0; k < info.count; ++k) free(info.names[k]);
  free(info.names);
  return 0;
}
