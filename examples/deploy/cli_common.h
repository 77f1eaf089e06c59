/* What both deploy programs (predict.c and bmx_run.c) do around their model calls: one-line
 * errors that exit with 1 (a failure) or 2 (a usage error), whole-file reads, shape parsing,
 * the little-endian check and the top-K printout. Plain C99 and header only, so that each
 * program still compiles as one file (with this header beside it).
 *
 * The including file defines `static const char *g_prog` (its name in messages) first. */
#ifndef BMX_DEPLOY_CLI_COMMON_H
#define BMX_DEPLOY_CLI_COMMON_H

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define MAX_DIMS 8

/* Prints "<prog>: error: <message>" as one line and exits with `status`; usage errors point
 * to --help. */
static void fail(int status, const char *fmt, ...) {
  va_list args;
  fprintf(stderr, "%s: error: ", g_prog);
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  if (status == EXIT_USAGE) fprintf(stderr, " (see %s --help)", g_prog);
  fputc('\n', stderr);
  exit(status);
}

#define die(...) fail(1, __VA_ARGS__)
#define usage_error(...) fail(EXIT_USAGE, __VA_ARGS__)

/* "N,C,H,W": 1 to MAX_DIMS positive integers; returns the count, 0 if malformed. */
static inline uint32_t parse_dims(const char *text, uint32_t *dims) {
  const char *p = text;
  uint32_t ndim = 0;
  for (;;) {
    char *end;
    unsigned long v;
    if (!isdigit((unsigned char)*p)) return 0;
    errno = 0;
    v = strtoul(p, &end, 10);
    if (errno != 0 || v == 0 || v > UINT32_MAX || ndim == MAX_DIMS) return 0;
    dims[ndim++] = (uint32_t)v;
    if (*end == '\0') return ndim;
    if (*end != ',') return 0;
    p = end + 1;
  }
}

/* The value of `option` as a positive int, or a usage error. */
static inline int parse_positive(const char *text, const char *option) {
  char *end;
  long v;
  errno = 0;
  v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < 1 || v > INT_MAX)
    usage_error("bad %s '%s': expected a positive integer", option, text);
  return (int)v;
}

/* Product of dims as an element count; dies if `what` would not fit the C API's uint32
 * byte counts. */
static inline uint32_t element_count(const uint32_t *dims, uint32_t ndim, const char *what) {
  uint64_t n = 1;
  uint32_t i;
  for (i = 0; i < ndim; ++i) {
    n *= dims[i];
    if (n > UINT32_MAX / sizeof(float)) die("%s is too large (over 4 GiB)", what);
  }
  return (uint32_t)n;
}

/* Reads a whole file (or pipe); appends a NUL so text files can be used as C strings. */
static inline unsigned char *read_file(const char *path, const char *what, size_t *size) {
  FILE *f = fopen(path, "rb");
  unsigned char *data = NULL;
  size_t len = 0, cap = 0;
  long end;
  if (f == NULL) die("cannot open %s file %s: %s", what, path, strerror(errno));
  /* A regular file: one buffer of its size (+1 for the terminating 0, and one more byte so
     that the loop below sees the end without growing it); a pipe grows by doubling. */
  if (fseek(f, 0, SEEK_END) == 0 && (end = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    cap = (size_t)end + 2;
    data = malloc(cap);
    if (data == NULL) die("out of memory reading %s file %s", what, path);
  }
  for (;;) {
    if (cap - len < 2) {
      unsigned char *grown;
      cap = cap ? 2 * cap : 1 << 16;
      grown = realloc(data, cap);
      if (grown == NULL) die("out of memory reading %s file %s", what, path);
      data = grown;
    }
    len += fread(data + len, 1, cap - len - 1, f);
    if (ferror(f)) die("cannot read %s file %s: %s", what, path, strerror(errno));
    if (feof(f)) break;
  }
  fclose(f);
  data[len] = '\0';
  *size = len;
  return data;
}

static inline int host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const unsigned char *)&one == 1;
}

/* "sample <i>: top-K classes c1(p1) c2(p2) ..." for each sample of `out`, viewed as
 * (batch, classes); ties go to the lower class index. */
static inline void print_top(const float *out, uint32_t batch, uint32_t classes, int top) {
  uint32_t k = (uint32_t)top < classes ? (uint32_t)top : classes;
  uint32_t *best = malloc(k * sizeof *best + 1);
  uint32_t s, i, j;
  if (best == NULL) die("out of memory");
  for (s = 0; s < batch; ++s) {
    const float *row = out + (size_t)s * classes;
    uint32_t found = 0;
    /* Insertion into a sorted list of the k best: k is small. */
    for (i = 0; i < classes; ++i) {
      if (found == k && !(row[i] > row[best[k - 1]])) continue;
      j = found < k ? found++ : k - 1;
      while (j > 0 && row[i] > row[best[j - 1]]) {
        best[j] = best[j - 1];
        --j;
      }
      best[j] = i;
    }
    printf("sample %u: top-%u classes", s, k);
    for (j = 0; j < k; ++j) printf(" %u(%.6g)", best[j], row[best[j]]);
    putchar('\n');
  }
  free(best);
}

#endif /* BMX_DEPLOY_CLI_COMMON_H */
