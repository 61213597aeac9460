#include <png.h>
// Macros of libpng's simplified API do not import into Swift.
static inline unsigned stpm_png_format_gray(void) { return PNG_FORMAT_GRAY; }
static inline unsigned stpm_png_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline unsigned stpm_png_format_rgba(void) { return PNG_FORMAT_RGBA; }
static inline unsigned stpm_png_format_linear_y(void) { return PNG_FORMAT_LINEAR_Y; }
static inline unsigned stpm_png_image_version(void) { return PNG_IMAGE_VERSION; }
static inline size_t stpm_png_image_size(png_imagep image) { return PNG_IMAGE_SIZE(*image); }
static inline int stpm_png_image_failed(png_imagep image) { return PNG_IMAGE_FAILED(*image); }
