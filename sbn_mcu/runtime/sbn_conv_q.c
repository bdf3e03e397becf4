/* Convolution on the normalised integer input q (int32, C, H, W; see
 * sbn_input_q.c) with fused threshold, packing and max pooling. Each output
 * channel's weights are one row of bits over its taps in (c, ky, kx) order.
 * acc = sum(w * q) over the taps inside the input: a padded tap is 0 and
 * adds nothing, exactly like torch's zero padding. Max pooling of ±1 values
 * is an OR, so a channel stops at the first conv position of its pooling
 * window that gives +1.
 *
 * Every conv position of the window is gathered once into the scratch (its
 * taps, 0 outside the input, then their sum), and each channel takes the
 * masked sums of sbn_q.h over it. */
#ifndef SBN_CONV_Q_C
#define SBN_CONV_Q_C

#include "sbn_bits.h"
#include "sbn_conv.h"
#include "sbn_q.h"
#include "sbn_kernels.h"

/* Scratch words for one call: per position of the pooling window, its
 * in_c * kh * kw taps and their sum. */
#define SBN_CONV_Q_SCRATCH_WORDS(in_c, kh, kw, window) ((window) * ((in_c) * (kh) * (kw) + 1u))

SBN_API void sbn_conv_q(const int32_t *q, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr, uint32_t *out,
                       uint32_t *scratch_words)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand, as a value parameter was */
    int32_t *const scratch = (int32_t *)scratch_words; /* the signed view of the words: C lets them alias */
    const uint32_t taps = g.in_c * g.kh * g.kw, row_words = (taps + 31u) >> 5, stride = taps + 1u;
    const uint32_t out_words = (g.out_c + 31u) >> 5, window = g.pool_h * g.pool_w;
    uint32_t py, px, d, dy, dx, c, ky, kx, o, word = 0u;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) { /* gather: taps, then their sum */
                int32_t *x = scratch + d * stride, total = 0;
                const int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                const int32_t ix = (int32_t)((px * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                for (c = 0u; c < g.in_c; c++) {
                    for (ky = 0u; ky < g.kh; ky++) {
                        const int32_t y = iy + (int32_t)ky;
                        for (kx = 0u; kx < g.kw; kx++) {
                            const int32_t xx = ix + (int32_t)kx;
                            const int32_t v = (y >= 0 && y < (int32_t)g.in_h && xx >= 0 && xx < (int32_t)g.in_w)
                                ? q[(c * g.in_h + (uint32_t)y) * g.in_w + (uint32_t)xx] : 0;
                            *x++ = v;
                            total += v;
                        }
                    }
                }
                *x = total;
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
            for (o = 0u; o < g.out_c; o++) {
                uint32_t bit = 0u;
                for (d = 0u; d < window && bit == 0u; d++) {
                    const int32_t *x = scratch + d * stride;
                    bit = (uint32_t)(sbn_q_dot(x, w + o * row_words, taps, (sbn_acc_t)x[taps]) >= (sbn_acc_t)thr[o]);
                }
                word = sbn_put_bit(dst, o, g.out_c, word, bit);
            }
        }
    }
}

#endif /* SBN_CONV_Q_C */
