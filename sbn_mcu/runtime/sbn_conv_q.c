/* Convolution on the normalised integer input q (int32, C, H, W; see
 * sbn_input_q.c) with fused threshold, packing and max pooling. Each output
 * channel's weights are one row of bits over its taps in (c, ky, kx) order.
 * acc = sum(w * q) over the taps inside the input: a padded tap is 0 and
 * adds nothing, exactly like torch's zero padding. Max pooling of ±1 values
 * is an OR, so a channel stops at the first conv position of its pooling
 * window that gives +1. */
#ifndef SBN_CONV_Q_C
#define SBN_CONV_Q_C

#include "sbn_bits.h"
#include "sbn_conv.h"

static int32_t sbn_conv_q_at(const int32_t *q, const uint32_t *w, const sbn_conv *g, int32_t iy, int32_t ix)
{
    int32_t acc = 0;
    uint32_t c, ky, kx, t = 0u;
    for (c = 0u; c < g->in_c; c++) {
        for (ky = 0u; ky < g->kh; ky++) {
            const int32_t y = iy + (int32_t)ky;
            for (kx = 0u; kx < g->kw; kx++, t++) {
                const int32_t x = ix + (int32_t)kx;
                if (y >= 0 && y < (int32_t)g->in_h && x >= 0 && x < (int32_t)g->in_w) {
                    const int32_t v = q[(c * g->in_h + (uint32_t)y) * g->in_w + (uint32_t)x];
                    acc += ((w[t >> 5] >> (t & 31u)) & 1u) ? v : -v;
                }
            }
        }
    }
    return acc;
}

SBN_API void sbn_conv_q(const int32_t *q, const uint32_t *w, const sbn_conv g, const int32_t *thr, uint32_t *out)
{
    const uint32_t row_words = (g.in_c * g.kh * g.kw + 31u) >> 5, out_words = (g.out_c + 31u) >> 5;
    uint32_t py, px, o, dy, dx, word = 0u;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (o = 0u; o < g.out_c; o++) {
                uint32_t bit = 0u;
                for (dy = 0u; dy < g.pool_h && bit == 0u; dy++) {
                    for (dx = 0u; dx < g.pool_w && bit == 0u; dx++) {
                        const int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                        const int32_t ix = (int32_t)((px * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                        bit = (uint32_t)(sbn_conv_q_at(q, w + o * row_words, &g, iy, ix) >= thr[o]);
                    }
                }
                word = sbn_put_bit(dst, o, g.out_c, word, bit);
            }
        }
    }
}

#endif /* SBN_CONV_Q_C */
