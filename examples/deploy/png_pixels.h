/* A PNG file's 8-bit pixels, decoded with libpng's simplified API, for the deploy programs that
 * take images (bmx_run.c, bmx_benchmark.cc); they hand the pixels to BMXInputFromPixels. Header
 * only, C99 and C++, so that each program still compiles as one file; include it where libpng
 * is linked (BMX_RUN_HAVE_PNG). */
#ifndef BMX_DEPLOY_PNG_PIXELS_H
#define BMX_DEPLOY_PNG_PIXELS_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* Why a decode failed. */
enum bmx_png_status { BMX_PNG_OK = 0, BMX_PNG_UNREADABLE = 1, BMX_PNG_OUT_OF_MEMORY = 2 };

/* The image's pixels, interleaved, in its own channels (gray or RGB, with alpha if it has it),
 * malloc'ed into *pixels (the caller frees them). BMX_PNG_UNREADABLE leaves libpng's reason in
 * message (a NUL-terminated string of at most message_size bytes). */
static inline enum bmx_png_status bmx_png_pixels(const unsigned char *bytes, size_t size,
                                                 unsigned char **pixels, uint32_t *height,
                                                 uint32_t *width, uint32_t *channels,
                                                 char *message, size_t message_size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  *pixels = NULL;
  if (png_image_begin_read_from_memory(&image, bytes, size)) {
    image.format &= PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA; /* 8-bit, sRGB */
    *pixels = (unsigned char *)malloc(PNG_IMAGE_SIZE(image));
    if (*pixels == NULL) {
      png_image_free(&image);
      return BMX_PNG_OUT_OF_MEMORY;
    }
    if (png_image_finish_read(&image, NULL, *pixels, 0, NULL)) {
      *channels = PNG_IMAGE_PIXEL_CHANNELS(image.format);
      *height = image.height;
      *width = image.width;
      return BMX_PNG_OK;
    }
    free(*pixels);
    *pixels = NULL;
  }
  if (message_size > 0) {
    strncpy(message, image.message, message_size - 1);
    message[message_size - 1] = '\0';
  }
  return BMX_PNG_UNREADABLE;
}

#endif /* BMX_DEPLOY_PNG_PIXELS_H */
