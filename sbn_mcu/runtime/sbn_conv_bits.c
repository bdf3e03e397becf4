/* Binary convolution with fused threshold, packing and max pooling:
 * acc = n - 2 * mismatches over the taps inside the input, n = valid taps *
 * in_c. Max pooling of ±1 values is an OR of bits, so a channel stops at the
 * first conv position of its pooling window that gives +1.
 *
 * Every conv position of the window is gathered once into the scratch, with
 * the list of its taps outside the input; such a tap takes the weight's own
 * bits per channel, so it never mismatches, exactly like torch's zero padding
 * adds nothing. Scratch per window position: k*k*in_words + k*k + 1 words. */
#ifndef SBN_CONV_BITS_C
#define SBN_CONV_BITS_C

#include "sbn_bits.h"
#include "sbn_conv.h"
#include "sbn_kernels.h"

/* Scratch words for one call: per position of the pooling window, the
 * gathered row (kh*kw*in_words), the outside taps (kh*kw) and their count. */
#define SBN_CONV_BITS_SCRATCH_WORDS(in_c, kh, kw, window) \
    ((window) * ((kh) * (kw) * (((in_c) + 31u) / 32u) + (kh) * (kw) + 1u))

/* Every channel of one pooled position from its gathered window; patch is a
 * constant: 0 where no tap of the window is outside the input. A channel's
 * bit is n - 2 * mismatches >= t, i.e. 2 * mismatches <= n - t: its limit
 * full - t once per channel, less the outside taps' bits at a patched
 * position, against one compare per evaluation. */
SBN_INLINE void sbn_conv_bits_channels(const uint32_t *w, const int32_t *thr, const sbn_conv *g,
                                           uint32_t *scratch, uint32_t *dst, int patch)
{
    const uint32_t in_words = (g->in_c + 31u) >> 5, taps = g->kh * g->kw, row_words = taps * in_words;
    const uint32_t stride = row_words + taps + 1u, window = g->pool_h * g->pool_w;
    const int32_t full = (int32_t)(taps * g->in_c);
    const int32_t *t = thr, *end = thr + g->out_c;
    const uint32_t *wo = w;
    uint32_t d, i, j;
    while (t != end) {
        /* channel k of this word in bit k + 32 - count, shifted down once the word is full */
        const uint32_t count = end - t < 32 ? (uint32_t)(end - t) : 32u;
        uint32_t word = 0u, bit = 1u << (32u - count);
        do {
            const int32_t limit = full - *t++;
            uint32_t *xs = scratch;
            for (d = window; d > 0u; d--, xs += stride) {
                uint32_t *outside = xs + row_words;
                const uint32_t n_out = patch ? outside[taps] : 0u;
                /* read the weights afresh at each evaluation: kept on the stack for the whole
                 * window, they cost more stores than the loads they save */
                const uint32_t *we = sbn_opaque_pointer(wo);
                for (j = 0u; j < n_out; j++) {
                    for (i = 0u; i < in_words; i++) {
                        xs[outside[j] + i] = we[outside[j] + i];
                    }
                }
                if ((int32_t)(2u * sbn_mismatches_inline(xs, we, row_words)) <= limit - (int32_t)(n_out * g->in_c)) {
                    word |= bit;
                    break;
                }
            }
            wo += row_words;
            bit <<= 1;
        } while (bit != 0u);
        *dst++ = word >> (32u - count);
    }
}

SBN_API SBN_NOINLINE void sbn_conv_bits(const uint32_t *in, const uint32_t *w, const sbn_conv *geometry,
                          const int32_t *thr, uint32_t *out, uint32_t *scratch)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand, as a value parameter was */
    const uint32_t in_words = (g.in_c + 31u) >> 5, out_words = (g.out_c + 31u) >> 5;
    const uint32_t taps = g.kh * g.kw, row_words = taps * in_words, stride = row_words + taps + 1u;
    const uint32_t window = g.pool_h * g.pool_w;
    uint32_t py, px, d, dy, dx, ky, kx, i, any_outside;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (d = 0u, dy = 0u, dx = 0u, any_outside = 0u; d < window; d++) { /* gather: row, outside taps, count */
                uint32_t *xs = scratch + d * stride, *outside = xs + row_words, t = 0u, n_out = 0u;
                int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                int32_t ix = (int32_t)((px * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                for (ky = 0u; ky < g.kh; ky++) {
                    int32_t y = iy + (int32_t)ky;
                    for (kx = 0u; kx < g.kw; kx++, t += in_words) {
                        int32_t x = ix + (int32_t)kx;
                        if (y >= 0 && y < (int32_t)g.in_h && x >= 0 && x < (int32_t)g.in_w) {
                            const uint32_t *src = in + ((uint32_t)y * g.in_w + (uint32_t)x) * in_words;
                            for (i = 0u; i < in_words; i++) {
                                xs[t + i] = src[i];
                            }
                        } else {
                            outside[n_out++] = t;
                        }
                    }
                }
                outside[taps] = n_out;
                any_outside |= n_out;
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
            if (any_outside) {
                sbn_conv_bits_channels(w, thr, &g, scratch, dst, 1);
            } else {
                sbn_conv_bits_channels(w, thr, &g, scratch, dst, 0);
            }
        }
    }
}

#endif /* SBN_CONV_BITS_C */
