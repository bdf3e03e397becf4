/* Convolution on the normalised integer input q (int32, C, H, W; see
 * sbn_input_q.c) with fused threshold, packing and max pooling. Each output
 * channel's weights are one row of bits over its taps in (c, ky, kx) order.
 * acc = sum(w * q) over the taps inside the input: a padded tap is 0 and
 * adds nothing, exactly like torch's zero padding. Max pooling of ±1 values
 * is an OR, so a channel that is +1 at one conv position of its pooling
 * window is not summed at the others.
 *
 * Each conv position's taps are gathered into the scratch (0 outside the
 * input; no bounds checks away from the border) and made into the tables
 * of signed subset sums of sbn_q.h, so that every channel's sum is one
 * lookup per four taps. */
#ifndef SBN_CONV_Q_C
#define SBN_CONV_Q_C

#include "sbn_conv.h"
#include "sbn_q.h"
#include "sbn_kernels.h"

/* Scratch words for one call: the tables of one conv position's in_c * kh * kw
 * taps, SBN_Q_ENTRIES per four taps, then the taps (the pooling window's
 * positions take turns). */
#define SBN_CONV_Q_SCRATCH_WORDS(in_c, kh, kw, window) \
    (((in_c) * (kh) * (kw) + 3u) / 4u * 16u + (in_c) * (kh) * (kw))

SBN_API void sbn_conv_q(const int32_t *q, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr, uint32_t *out,
                       uint32_t *scratch_words)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand, as a value parameter was */
    int32_t *const tables = (int32_t *)scratch_words; /* the signed view of the words: C lets them alias */
    const uint32_t taps = g.in_c * g.kh * g.kw, row_words = (taps + 31u) >> 5, groups = (taps + 3u) >> 2;
    const uint32_t out_words = (g.out_c + 31u) >> 5;
    int32_t *const line = tables + groups * SBN_Q_ENTRIES;
    uint32_t py, px, dy, dx, c, ky, kx, o;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (o = 0u; o < out_words; o++) {
                dst[o] = 0u;
            }
            for (dy = 0u; dy < g.pool_h; dy++) {
                for (dx = 0u; dx < g.pool_w; dx++) {
                    const int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                    const int32_t ix = (int32_t)((px * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                    int32_t *x = line;
                    if (iy >= 0 && iy + (int32_t)g.kh <= (int32_t)g.in_h && ix >= 0
                            && ix + (int32_t)g.kw <= (int32_t)g.in_w) { /* inside: every tap is there */
                        const int32_t *src = q + (uint32_t)iy * g.in_w + (uint32_t)ix;
                        for (c = 0u; c < g.in_c; c++, src += g.in_h * g.in_w) {
                            const int32_t *row = src;
                            for (ky = 0u; ky < g.kh; ky++, row += g.in_w) {
                                for (kx = 0u; kx < g.kw; kx++) {
                                    *x++ = row[kx];
                                }
                            }
                        }
                    } else {
                        for (c = 0u; c < g.in_c; c++) {
                            for (ky = 0u; ky < g.kh; ky++) {
                                const int32_t y = iy + (int32_t)ky;
                                const int row_inside = y >= 0 && y < (int32_t)g.in_h;
                                for (kx = 0u; kx < g.kw; kx++) {
                                    const int32_t xx = ix + (int32_t)kx;
                                    *x++ = row_inside && xx >= 0 && xx < (int32_t)g.in_w
                                        ? q[(c * g.in_h + (uint32_t)y) * g.in_w + (uint32_t)xx] : 0;
                                }
                            }
                        }
                    }
                    sbn_q_tables(tables, line, taps);
                    for (o = 0u; o < g.out_c; o++) {
                        const uint32_t bit = 1u << (o & 31u);
                        if ((dst[o >> 5] & bit) == 0u
                                && sbn_q_row(tables, w + o * row_words, groups) >= (sbn_acc_t)thr[o]) {
                            dst[o >> 5] |= bit;
                        }
                    }
                }
            }
        }
    }
}

#endif /* SBN_CONV_Q_C */
