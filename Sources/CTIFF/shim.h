#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

// libtiff reads from a file in memory (the bytes the caller already has), and reports its errors to
// a per-handle buffer instead of stderr: its handlers take a va_list, which Swift cannot format.
typedef struct {
    const unsigned char *data;
    toff_t size;
    toff_t position;
    char message[512];
} stpm_tiff_source;

static tmsize_t stpm_tiff_read(thandle_t h, void *buf, tmsize_t n) {
    stpm_tiff_source *s = (stpm_tiff_source *)h;
    if (n <= 0 || s->position >= s->size) return 0;
    toff_t left = s->size - s->position;
    toff_t count = (toff_t)n < left ? (toff_t)n : left;
    memcpy(buf, s->data + s->position, (size_t)count);
    s->position += count;
    return (tmsize_t)count;
}

static tmsize_t stpm_tiff_write(thandle_t h, void *buf, tmsize_t n) { return -1; }

static toff_t stpm_tiff_seek(thandle_t h, toff_t offset, int whence) {
    stpm_tiff_source *s = (stpm_tiff_source *)h;
    toff_t base = whence == SEEK_CUR ? s->position : whence == SEEK_END ? s->size : 0;
    if (offset > UINT64_MAX - base) return (toff_t)-1;
    s->position = base + offset; // past the end is allowed, as for files; reads there return 0
    return s->position;
}

static int stpm_tiff_close(thandle_t h) { return 0; }
static toff_t stpm_tiff_size(thandle_t h) { return ((stpm_tiff_source *)h)->size; }
static int stpm_tiff_map(thandle_t h, void **base, toff_t *size) { return 0; }
static void stpm_tiff_unmap(thandle_t h, void *base, toff_t size) {}

static int stpm_tiff_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    stpm_tiff_source *s = (stpm_tiff_source *)user;
    if (s->message[0] == 0) vsnprintf(s->message, sizeof s->message, fmt, ap);
    return 1;
}

static int stpm_tiff_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    return 1; // unknown tags and the like: libtiff decodes on, and so does Pillow
}

/// NULL on failure, with `source->message` set. `single_alloc_limit` bounds each of libtiff's own allocations.
static inline TIFF *stpm_tiff_open(stpm_tiff_source *source, tmsize_t single_alloc_limit) {
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    if (!options) return NULL;
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, single_alloc_limit);
    TIFFOpenOptionsSetErrorHandlerExtR(options, stpm_tiff_error, source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, stpm_tiff_warning, source);
    TIFF *tif = TIFFClientOpenExt("memory", "rm", (thandle_t)source, stpm_tiff_read, stpm_tiff_write,
                                  stpm_tiff_seek, stpm_tiff_close, stpm_tiff_size, stpm_tiff_map,
                                  stpm_tiff_unmap, options);
    TIFFOpenOptionsFree(options);
    return tif;
}

// TIFFGetField is variadic, which Swift cannot call.
static inline int stpm_tiff_get_u16(TIFF *tif, uint32_t tag, uint16_t *value) {
    return TIFFGetFieldDefaulted(tif, tag, value);
}
static inline int stpm_tiff_get_u32(TIFF *tif, uint32_t tag, uint32_t *value) {
    return TIFFGetFieldDefaulted(tif, tag, value);
}
static inline int stpm_tiff_get_colormap(TIFF *tif, uint16_t **r, uint16_t **g, uint16_t **b) {
    return TIFFGetField(tif, TIFFTAG_COLORMAP, r, g, b);
}
