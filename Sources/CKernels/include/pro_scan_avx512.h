#ifndef STPM_PRO_SCAN_AVX512_H
#define STPM_PRO_SCAN_AVX512_H

#include <stdint.h>

/// The PRO curve's scan without a curve (PixelMetrics.proScan), for up to 8 groups at once, one per lane: keys
/// (score bits above, tag below, ascending) are read from keys[count - 1] down until no lane is live. Tags below
/// `kinds` are OK pixels of that kind, the others defect region tag - kinds (region_kind, region_weight);
/// kind_lanes[kind] has bit j set when lane j's group holds that kind. After each run of tied scores, each lane
/// the run touched gets the point (min(float(fp) / ok_pixels, 1), min(pro_sum / regions, 1)) added to its area
/// exactly as PROArea.add does (same operations in the same order, no fused multiply-add), so every lane's area
/// is the scalar scan's to the last bit; a point beyond `limit` completes the lane.
/// `state` holds 8 lanes each of sum, last x, last y, beyond x, beyond y, pro_sum and pro (56 doubles, in that
/// order); `false_positives` 8 counts; `live` and `reached` (the limit was a point) lane masks. All are updated
/// (the counts and PRO of a lane no longer live go on changing, unread).
/// Returns the keys left unread. Needs AVX-512 (F, VL, DQ).
long stpm_pro_scan_avx512(const uint64_t *keys, long count, long kinds, const uint8_t *kind_lanes,
                          const uint32_t *region_kind, const double *region_weight, const float *ok_pixels,
                          const double *regions, double limit, double *state, int32_t *false_positives,
                          uint8_t *live, uint8_t *reached);

#endif
