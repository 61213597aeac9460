#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg reports fatal errors by calling error_exit, which must not return: the default one calls exit().
// Swift cannot setjmp, so every libjpeg call that can fail runs inside one of these C functions, and
// error_exit longjmps back into it. Nothing but libjpeg's own frames lies between setjmp and longjmp.
typedef struct {
    struct jpeg_decompress_struct cinfo; // first, so a j_common_ptr is also a stpm_jpeg pointer
    struct jpeg_error_mgr err;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int corrupt; // a warning that means pixels were lost or invented (libjpeg would decode on regardless)
} stpm_jpeg;

static void stpm_jpeg_error_exit(j_common_ptr cinfo) {
    stpm_jpeg *d = (stpm_jpeg *)cinfo;
    cinfo->err->format_message(cinfo, d->message);
    longjmp(d->jump, 1);
}

static void stpm_jpeg_emit_message(j_common_ptr cinfo, int level) {
    stpm_jpeg *d = (stpm_jpeg *)cinfo;
    if (level >= 0 || d->corrupt) return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF: case JWRN_HIT_MARKER: case JWRN_HUFF_BAD_CODE: case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC: case JWRN_BOGUS_PROGRESSION: case JWRN_NOT_SEQUENTIAL:
        d->corrupt = 1;
        cinfo->err->format_message(cinfo, d->message);
        break;
    default:
        break;
    }
}

/// NULL when out of memory.
static inline stpm_jpeg *stpm_jpeg_create(void) {
    stpm_jpeg *d = (stpm_jpeg *)calloc(1, sizeof(stpm_jpeg));
    if (!d) return NULL;
    d->cinfo.err = jpeg_std_error(&d->err);
    d->err.error_exit = stpm_jpeg_error_exit;
    d->err.emit_message = stpm_jpeg_emit_message;
    if (setjmp(d->jump)) { free(d); return NULL; }
    jpeg_create_decompress(&d->cinfo);
    return d;
}

static inline void stpm_jpeg_destroy(stpm_jpeg *d) {
    jpeg_destroy_decompress(&d->cinfo);
    free(d);
}

/// 0, or -1 with `message` set. `data` must stay valid until stpm_jpeg_destroy.
static inline int stpm_jpeg_read_header(stpm_jpeg *d, const unsigned char *data, unsigned long size) {
    if (setjmp(d->jump)) return -1;
    jpeg_mem_src(&d->cinfo, data, size);
    jpeg_read_header(&d->cinfo, TRUE);
    return 0;
}

/// Decodes into `out` (output_width x output_height x components bytes, rows packed) with libjpeg's
/// defaults: accurate integer IDCT (JDCT_ISLOW) and fancy upsampling. 0, or -1 with `message` set.
static inline int stpm_jpeg_decode(stpm_jpeg *d, J_COLOR_SPACE out_color_space, unsigned char *out, size_t out_size) {
    if (setjmp(d->jump)) return -1;
    d->cinfo.out_color_space = out_color_space;
    d->cinfo.dct_method = JDCT_ISLOW;
    d->cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&d->cinfo);
    size_t stride = (size_t)d->cinfo.output_width * (size_t)d->cinfo.output_components;
    if (stride * d->cinfo.output_height != out_size) {
        strcpy(d->message, "decoded size differs from the header's");
        return -1;
    }
    while (d->cinfo.output_scanline < d->cinfo.output_height) {
        JSAMPROW row = out + (size_t)d->cinfo.output_scanline * stride;
        jpeg_read_scanlines(&d->cinfo, &row, 1);
    }
    jpeg_finish_decompress(&d->cinfo);
    return 0;
}
