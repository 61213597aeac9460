#ifndef STPM_PNG_FILTERS_AVX512_H
#define STPM_PNG_FILTERS_AVX512_H

#include <stdint.h>

/// PNG's five row filters undone (PNG 1.2 section 6) for 3 or 4 bytes per pixel, up to 64 rows at a time:
/// Sub, Average and Paeth depend on the pixel to the left, so one row is a chain of dependent steps, but
/// row y + 1's pixel p needs only row y's pixels p - 1 and p. Lane k takes pixel t - k of row y0 + k at
/// step t, its byte above being lane k - 1's result of the step before, so 64 chains run side by side in
/// four vectors of 16; 16 steps' pixels are transposed in registers from the rows and back. The same bytes as
/// PNGRowFilters.undo. `raw`: `rows` rows of a filter-type byte and `row_bytes` bytes; `out`: rows of
/// `row_bytes` bytes. Returns 0 (out unspecified) on a filter type above 4. Needs AVX-512 (F, BW, VL).
int stpm_png_unfilter_avx512(const uint8_t *raw, long rows, long row_bytes, long bpp, uint8_t *out);

#endif
