/* Convolution on raw uint8 input (C, H, W) with fused threshold, packing and
 * max pooling. As in the dense uint8 kernel, a ±1 weight is a byte mask m
 * (255 or 0) and acc = 255 * n - 2 * sum(p ^ m) over the n taps inside the
 * input. The weights are stored as byte masks, one row of (kw + 3) / 4
 * words per input channel and kernel row (lanes past kw are 0). Each conv
 * position gathers its pixels into the same layout once; a tap outside the
 * input takes the weight's own byte per channel, so it adds nothing, exactly
 * like torch's zero padding. usada8 sums four |p - m| = p ^ m at a time on
 * cores with the DSP extension. */
#ifndef SBN_CONV_U8_C
#define SBN_CONV_U8_C

#include "sbn_bits.h"
#include "sbn_conv.h"
#include "sbn_kernels.h"

/* Scratch words for one call: per position of the pooling window, the
 * gathered pixels and their valid lanes (in_c * kh * ((kw + 3) / 4) words
 * each) and a count. */
#define SBN_CONV_U8_SCRATCH_WORDS(in_c, kh, kw, window) \
    ((window) * (2u * (in_c) * (kh) * (((kw) + 3u) / 4u) + 1u))

static inline uint32_t sbn_xor_sum4(uint32_t p, uint32_t m, uint32_t acc)
{
#if SBN_DSP
    return sbn_usada8(p, m, acc);
#else
    return acc + sbn_bytesum(p ^ m);
#endif
}

SBN_API void sbn_conv_u8(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry,
                        const int32_t *thr, uint32_t *out, uint32_t *scratch)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand, as a value parameter was */
    const uint32_t kw = (g.kw + 3u) >> 2, row_words = g.in_c * g.kh * kw, stride = 2u * row_words + 1u;
    const uint32_t out_words = (g.out_c + 31u) >> 5, window = g.pool_h * g.pool_w, full = g.in_c * g.kh * g.kw;
    uint32_t py, px, d, dy, dx, c, ky, kx, r, o, word = 0u;
    for (py = 0u; py < g.out_h; py++) {
        for (px = 0u; px < g.out_w; px++) {
            uint32_t *dst = out + (py * g.out_w + px) * out_words;
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) { /* gather: pixels, valid lanes, count */
                uint32_t *patch = scratch + d * stride, *inside = patch + row_words, n = 0u;
                int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                int32_t ix = (int32_t)((px * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                const uint32_t fast = kw == 1u && iy >= 0 && ix >= 0 && (uint32_t)iy + g.kh <= g.in_h
                                      && (uint32_t)ix + 4u <= g.in_w;
                r = 0u;
                if (fast) {
                    /* inside the input and one word per kernel row: word loads */
                    const uint32_t lanes = 0xFFFFFFFFu >> (8u * (4u - g.kw));
                    for (c = 0u; c < g.in_c; c++) {
                        const uint8_t *row = in + (c * g.in_h + (uint32_t)iy) * g.in_w + (uint32_t)ix;
                        for (ky = 0u; ky < g.kh; ky++, r++, row += g.in_w) {
                            patch[r] = sbn_load4(row) & lanes;
                            inside[r] = lanes;
                        }
                    }
                    n = full;
                }
                for (c = 0u; c < g.in_c && !fast; c++) {
                    for (ky = 0u; ky < g.kh; ky++) {
                        int32_t y = iy + (int32_t)ky;
                        for (kx = 0u; kx < g.kw; kx += 4u, r++) {
                            uint32_t p = 0u, v = 0u, l;
                            for (l = 0u; l < 4u && kx + l < g.kw; l++) {
                                int32_t x = ix + (int32_t)(kx + l);
                                if (y >= 0 && y < (int32_t)g.in_h && x >= 0 && x < (int32_t)g.in_w) {
                                    p |= (uint32_t)in[(c * g.in_h + (uint32_t)y) * g.in_w + (uint32_t)x] << (8u * l);
                                    v |= 0xFFu << (8u * l);
                                    n++;
                                }
                            }
                            patch[r] = p;
                            inside[r] = v;
                        }
                    }
                }
                inside[row_words] = n;
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
            for (o = 0u; o < g.out_c; o++) {
                const uint32_t *wo = w + o * row_words;
                uint32_t bit = 0u;
                for (d = 0u; d < window && bit == 0u; d++) {
                    const uint32_t *patch = scratch + d * stride, *inside = patch + row_words;
                    const uint32_t n = inside[row_words];
                    uint32_t sum = 0u;
                    if (n == full) {
                        for (r = 0u; r < row_words; r++) {
                            sum = sbn_xor_sum4(patch[r], wo[r], sum);
                        }
                    } else {
                        for (r = 0u; r < row_words; r++) {
                            sum = sbn_xor_sum4((patch[r] & inside[r]) | (wo[r] & ~inside[r]), wo[r], sum);
                        }
                    }
                    bit = (uint32_t)((int32_t)(255u * n) - (int32_t)sum - (int32_t)sum >= thr[o]);
                }
                word = sbn_put_bit(dst, o, g.out_c, word, bit);
            }
        }
    }
}

#endif /* SBN_CONV_U8_C */
