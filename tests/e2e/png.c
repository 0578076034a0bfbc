/* png.c: see png.h. PNG: signature, chunks (IHDR, IDAT...), zlib stream of
 * filtered scanlines (filter byte + bytes per row). */
#define _GNU_SOURCE
#include "png.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/common.h"

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);

	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

static void unfilter(unsigned char *raw, size_t stride, unsigned h, unsigned bpp)
{
	unsigned char *prev = NULL;
	unsigned y;
	size_t x;

	for (y = 0; y < h; y++) {
		unsigned char *row = raw + y * (stride + 1), f = row[0], *px = row + 1;

		for (x = 0; x < stride; x++) {
			int a = x >= bpp ? px[x - bpp] : 0, b = prev ? prev[x] : 0;
			int c = prev && x >= bpp ? prev[x - bpp] : 0, add = 0;

			add = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : f == 4 ? paeth(a, b, c) : 0;
			px[x] = (unsigned char)(px[x] + add);
		}
		prev = px;
	}
}

double png_nonblank_share(const char *path, unsigned *w, unsigned *h)
{
	struct rc_err err;
	struct rc_buf idat;
	unsigned char *raw = NULL, bpp;
	char *data = NULL;
	size_t len = 0, off = 8, stride, diff = 0, y, x;
	uLongf rawlen;
	double share = -1;

	*w = *h = 0;
	rc_buf_init(&idat);
	if (rc_read_file(path, &data, &len, &err) || len < 33 || memcmp(data, "\x89PNG", 4))
		goto out;
	*w = be32((unsigned char *)data + 16);
	*h = be32((unsigned char *)data + 20);
	if (data[24] != 8 || (data[25] != 2 && data[25] != 6))
		goto out;
	bpp = data[25] == 6 ? 4 : 3;
	while (off + 12 <= len) {
		uint32_t n = be32((unsigned char *)data + off);

		if (!memcmp(data + off + 4, "IDAT", 4) && off + 8 + n <= len)
			rc_buf_add(&idat, data + off + 8, n);
		off += 12 + n;
	}
	stride = (size_t)*w * bpp;
	rawlen = (uLongf)((stride + 1) * *h);
	raw = malloc(rawlen);
	if (!raw || uncompress(raw, &rawlen, (unsigned char *)idat.p, idat.len) != Z_OK)
		goto out;
	unfilter(raw, stride, *h, bpp);
	for (y = 0; y < *h; y++)
		for (x = 0; x < *w; x++)
			diff += memcmp(raw + y * (stride + 1) + 1 + x * bpp, raw + 1, 3) != 0;
	share = (double)diff / ((double)*w * *h);
out:
	free(raw);
	free(data);
	rc_buf_free(&idat);
	return share;
}
