/* png.h: just enough PNG decoding (zlib) to tell a blank screenshot. */
#ifndef RC_E2E_PNG_H
#define RC_E2E_PNG_H

#include <stddef.h>

/* Share of pixels (0..1) that differ from the top-left pixel, or -1 when
 * the file is not an 8-bit RGB/RGBA PNG. */
double png_nonblank_share(const char *path, unsigned *w, unsigned *h);

#endif
