#include <sixel/sixel.h>
// Composite macros of libsixel do not import into Swift.
static inline int stpm_sixel_pixelformat_rgb888(void) { return SIXEL_PIXELFORMAT_RGB888; }
static inline int stpm_sixel_failed(SIXELSTATUS status) { return SIXEL_FAILED(status); }
