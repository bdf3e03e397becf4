/* Convolution on raw uint8 input (C, H, W) with fused threshold, packing and
 * max pooling. As in the dense uint8 kernel, a ±1 weight is a byte mask m
 * (255 or 0) and acc = 255 * n - 2 * S, S = sum(|p - m|) over the n taps
 * inside the input.
 *
 * The export flips channels (ops/conv2d.py, conv_u8_records): a channel whose
 * last tap (in c, ky, kx order) has weight +1 is computed negated, with
 * threshold t' = 1 - t, and its bit is inverted afterwards (one XOR per
 * output word with the flip words). So every channel's last tap has mask 0
 * and adds the same p to every channel: it starts the sum. The other taps'
 * masks are packed four to a word, W = ceil((taps - 1) / 4) words per
 * channel, and thr[o] holds the threshold as F = D + 2H, D = 255 * taps - t'
 * clamped to [-1, 510 * taps], H = 255 * taps + 1 (so that F > 0 and every
 * compare below is unsigned):
 *   - every tap inside the input: bit = (F >= 2 * (H + S)), two usada8, one
 *     compare and one rrx per channel on cores with the DSP extension;
 *   - at the borders: with S0 the sum with the padded taps' pixels 0 and S1
 *     with them 255, S0 + S1 = 2 * S + 255 * (taps - n), so
 *     bit = (F >= 2H + S0 + S1): four usada8 per channel, no threshold per
 *     border case.
 * Each conv position of the pooling window is gathered once, and every
 * channel swept; the pooled word is the OR of the window's words. */
#ifndef SBN_CONV_U8_C
#define SBN_CONV_U8_C

#include "sbn_bits.h"
#include "sbn_conv.h"
#include "sbn_kernels.h"

/* Scratch words for one call: one conv position's taps and their valid lanes,
 * ceil(taps / 4) words each, and the taps but the last with 255 at the padded
 * ones, ceil((taps - 1) / 4) words. */
#define SBN_CONV_U8_SCRATCH_WORDS(in_c, kh, kw, window) \
    (2u * (((in_c) * (kh) * (kw) + 3u) / 4u) + ((in_c) * (kh) * (kw) + 2u) / 4u)

static inline uint32_t sbn_xor_sum4(uint32_t p, uint32_t m, uint32_t acc)
{
#if SBN_DSP
    return sbn_usada8(p, m, acc);
#else
    return acc + sbn_bytesum(p ^ m);
#endif
}

/* Taps of the conv position whose top-left tap is (iy, ix), as bytes in
 * (c, ky, kx) order in px, 0 where padded, and 0xFF lanes in valid where
 * inside the input; returns the number of taps inside. */
static uint32_t sbn_conv_u8_gather(const uint8_t *in, const sbn_conv *g, int32_t iy, int32_t ix, uint32_t *px,
                                   uint32_t *valid)
{
    const uint32_t taps = g->in_c * g->kh * g->kw, words = (taps + 3u) >> 2;
    uint32_t c, ky, kx, t = 0u, n = 0u;
    for (c = 0u; c < words; c++) {
        px[c] = 0u;
        valid[c] = 0u;
    }
    if (g->kw <= 4u && iy >= 0 && ix >= 0 && (uint32_t)iy + g->kh <= g->in_h && (uint32_t)ix + 4u <= g->in_w) {
        /* inside the input, rows of at most four taps: a word load per row */
        const uint32_t lanes = 0xFFFFFFFFu >> (8u * (4u - g->kw));
        for (c = 0u; c < g->in_c; c++) {
            const uint8_t *row = in + (c * g->in_h + (uint32_t)iy) * g->in_w + (uint32_t)ix;
            for (ky = 0u; ky < g->kh; ky++, row += g->in_w, t += g->kw) {
                const uint32_t v = sbn_load4(row) & lanes, shift = 8u * (t & 3u);
                px[t >> 2] |= v << shift;
                valid[t >> 2] |= lanes << shift;
                if (shift + 8u * g->kw > 32u) {
                    px[(t >> 2) + 1u] |= v >> (32u - shift);
                    valid[(t >> 2) + 1u] |= lanes >> (32u - shift);
                }
            }
        }
        return taps;
    }
    for (c = 0u; c < g->in_c; c++) {
        for (ky = 0u; ky < g->kh; ky++) {
            const int32_t y = iy + (int32_t)ky;
            for (kx = 0u; kx < g->kw; kx++, t++) {
                const int32_t x = ix + (int32_t)kx;
                if (y >= 0 && y < (int32_t)g->in_h && x >= 0 && x < (int32_t)g->in_w) {
                    px[t >> 2] |= (uint32_t)in[(c * g->in_h + (uint32_t)y) * g->in_w + (uint32_t)x] << (8u * (t & 3u));
                    valid[t >> 2] |= 0xFFu << (8u * (t & 3u));
                    n++;
                }
            }
        }
    }
    return n;
}

/* The three bytes from (y, ix) on of a one-channel input, 0 where outside it,
 * and their valid lanes. */
static inline uint32_t sbn_conv_u8_row3(const uint8_t *in, const sbn_conv *g, int32_t y, int32_t ix,
                                        uint32_t *lanes)
{
    uint32_t v = 0u, l = 0u;
    if (y >= 0 && y < (int32_t)g->in_h) {
        const uint8_t *row = in + (uint32_t)y * g->in_w;
        uint32_t k;
        for (k = 0u; k < 3u; k++) {
            const int32_t x = ix + (int32_t)k;
            if (x >= 0 && x < (int32_t)g->in_w) {
                v |= (uint32_t)row[x] << (8u * k);
                l |= 0xFFu << (8u * k);
            }
        }
    }
    *lanes = l;
    return v;
}

#if SBN_DSP
/* Two channels of two mask words each, their sums in r0 and r2: carry =
 * (F >= 2 * S), shifted into the top of word. */
#define SBN_CONV_U8_PAIR \
    "ldmia %[rec]!, {r0, r1, r2, r3}\n\t" \
    "ldmia %[thr]!, {r4, r5}\n\t" \
    "usada8 r0, %[p0], r0, %[h]\n\t" \
    "usada8 r0, %[p1], r1, r0\n\t" \
    "cmp r4, r0, lsl #1\n\t" \
    "rrx %[word], %[word]\n\t" \
    "usada8 r2, %[p0], r2, %[h]\n\t" \
    "usada8 r2, %[p1], r3, r2\n\t" \
    "cmp r5, r2, lsl #1\n\t" \
    "rrx %[word], %[word]\n\t"
#define SBN_CONV_U8_ONE \
    "ldmia %[rec]!, {r0, r1}\n\t" \
    "ldr r4, [%[thr]], #4\n\t" \
    "usada8 r0, %[p0], r0, %[h]\n\t" \
    "usada8 r0, %[p1], r1, r0\n\t" \
    "cmp r4, r0, lsl #1\n\t" \
    "rrx %[word], %[word]\n\t"
/* At a border: the sums with the padded pixels 0 (p) and 255 (q) together. */
#define SBN_CONV_U8_BORDER \
    "ldmia %[rec]!, {r0, r1}\n\t" \
    "ldr r2, [%[thr]], #4\n\t" \
    "usada8 r3, %[p0], r0, %[h]\n\t" \
    "usada8 r3, %[p1], r1, r3\n\t" \
    "usada8 r3, %[q0], r0, r3\n\t" \
    "usada8 r3, %[q1], r1, r3\n\t" \
    "cmp r2, r3\n\t" \
    "rrx %[word], %[word]\n\t"
#define SBN_CONV_U8_LOOP(BODY, ...) \
    __asm__("1:\n\t" BODY "subs %[n], %[n], #1\n\t" "bne 1b\n\t" \
            : [rec] "+r"(rec), [thr] "+r"(thr), [n] "+r"(n), [word] "+r"(word) \
            : __VA_ARGS__)

/* The bits of count (1..32) channels of two mask words at one conv position,
 * pos = {p0, p1, h}, every tap inside; the first channel's in bit
 * 32 - count: the caller shifts them down. Not inlined: the loop takes 13
 * registers. */
SBN_NOINLINE static uint32_t sbn_conv_u8_inside2(const uint32_t *rec, const int32_t *thr, uint32_t count,
                                                 const uint32_t *pos)
{
    const uint32_t p0 = pos[0], p1 = pos[1], h = pos[2];
    uint32_t word = 0u, n = count >> 4;
    if (n > 0u) {
        SBN_CONV_U8_LOOP(SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR
                         SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR SBN_CONV_U8_PAIR,
                         [p0] "r"(p0), [p1] "r"(p1), [h] "r"(h) : "r0", "r1", "r2", "r3", "r4", "r5", "cc", "memory");
    }
    n = count & 15u;
    if (n > 0u) {
        SBN_CONV_U8_LOOP(SBN_CONV_U8_ONE, [p0] "r"(p0), [p1] "r"(p1), [h] "r"(h)
                         : "r0", "r1", "r2", "r3", "r4", "r5", "cc", "memory");
    }
    return word;
}

/* The same at a border, pos = {p0, p1, q0, q1, h}: p with the padded pixels
 * 0, q with them 255; four channels per pass. */
SBN_NOINLINE static uint32_t sbn_conv_u8_border2(const uint32_t *rec, const int32_t *thr, uint32_t count,
                                                 const uint32_t *pos)
{
    const uint32_t p0 = pos[0], p1 = pos[1], q0 = pos[2], q1 = pos[3], h = pos[4];
    uint32_t word = 0u, n = count >> 2;
    if (n > 0u) {
        SBN_CONV_U8_LOOP(SBN_CONV_U8_BORDER SBN_CONV_U8_BORDER SBN_CONV_U8_BORDER SBN_CONV_U8_BORDER,
                         [p0] "r"(p0), [p1] "r"(p1), [q0] "r"(q0), [q1] "r"(q1), [h] "r"(h)
                         : "r0", "r1", "r2", "r3", "cc", "memory");
    }
    n = count & 3u;
    if (n > 0u) {
        SBN_CONV_U8_LOOP(SBN_CONV_U8_BORDER, [p0] "r"(p0), [p1] "r"(p1), [q0] "r"(q0), [q1] "r"(q1), [h] "r"(h)
                         : "r0", "r1", "r2", "r3", "cc", "memory");
    }
    return word;
}

/* The usual first layer, 3x3 over one channel (in_w >= 4): each conv
 * position's taps from three word loads, p0 = (a0 a1 a2 b0), p1 = (b1 b2 c0
 * c1) and x = c2 for rows a, b, c. A row's three bytes come from the word at
 * the nearest start x0 inside the row, shifted by the columns it is off; at a
 * border the padded bytes are 0 (p) and 255 (q). pos: 5 scratch words. */
static void sbn_conv_u8_three(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr,
                              uint32_t *out, uint32_t *pos)
{
    const sbn_conv g = *geometry;
    const uint32_t out_words = (g.out_c + 31u) >> 5, window = g.pool_h * g.pool_w;
    const int32_t edge = (int32_t)g.in_w - 4; /* the last start of a word load in a row */
    const uint32_t *flip = w + 2u * g.out_c;
    uint32_t py, qx, d, dy, dx, j, k;
    for (py = 0u; py < g.out_h; py++) {
        for (qx = 0u; qx < g.out_w; qx++) {
            uint32_t *dst = out + (py * g.out_w + qx) * out_words;
            for (j = 0u; j < out_words; j++) {
                dst[j] = 0u;
            }
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) {
                const int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                const int32_t ix = (int32_t)((qx * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                const int32_t x0 = ix < 0 ? 0 : ix > edge ? edge : ix;
                const uint32_t *rec = w;
                const int32_t *t = thr;
                uint32_t border = 1u;
                if (iy >= 0 && (uint32_t)iy + 3u <= g.in_h && ix >= 0 && (uint32_t)ix + 3u <= g.in_w) {
                    const uint32_t shift = 8u * (uint32_t)(ix - x0); /* 8 in the last column */
                    const uint8_t *row = in + (uint32_t)iy * g.in_w + (uint32_t)x0;
                    const uint32_t a = sbn_load4(row) >> shift, b = sbn_load4(row + g.in_w) >> shift;
                    const uint32_t c = sbn_load4(row + 2u * g.in_w) >> shift;
                    pos[0] = (a & 0x00FFFFFFu) | b << 24;
                    pos[1] = ((b >> 8) & 0xFFFFu) | c << 16;
                    pos[2] = ((c >> 16) & 0xFFu) + 255u * 9u + 1u;
                    border = 0u;
                } else {
                    uint32_t v[3], l[3], cols = 0u;
                    for (k = 0u; k < 3u; k++) {
                        const int32_t x = ix + (int32_t)k;
                        cols |= x >= 0 && x < (int32_t)g.in_w ? 0xFFu << (8u * k) : 0u;
                    }
                    for (k = 0u; k < 3u; k++) {
                        const int32_t y = iy + (int32_t)k;
                        v[k] = 0u;
                        l[k] = 0u;
                        if (cols != 0u && y >= 0 && y < (int32_t)g.in_h) {
                            const uint32_t bytes = sbn_load4(in + (uint32_t)y * g.in_w + (uint32_t)x0);
                            v[k] = (ix < x0 ? bytes << (8u * (uint32_t)(x0 - ix)) : bytes >> (8u * (uint32_t)(ix - x0)))
                                 & cols;
                            l[k] = cols;
                        }
                    }
                    pos[0] = v[0] | v[1] << 24;
                    pos[1] = v[1] >> 8 | (v[2] & 0xFFFFu) << 16;
                    pos[2] = pos[0] | ~(l[0] | l[1] << 24);
                    pos[3] = pos[1] | ~(l[1] >> 8 | (l[2] & 0xFFFFu) << 16);
                    pos[4] = (l[2] >> 16 != 0u ? 2u * (v[2] >> 16) : 255u) + 2u * (255u * 9u + 1u);
                }
                for (j = 0u; j < out_words; j++) {
                    const uint32_t count = j + 1u < out_words ? 32u : g.out_c - 32u * j; /* 1..32 */
                    const uint32_t word = border ? sbn_conv_u8_border2(rec, t, count, pos)
                                                 : sbn_conv_u8_inside2(rec, t, count, pos);
                    dst[j] |= (word >> (32u - count)) ^ flip[j];
                    rec += 2u * count;
                    t += count;
                }
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
        }
    }
}
#endif

SBN_API SBN_NOINLINE void sbn_conv_u8(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry,
                        const int32_t *thr, uint32_t *out, uint32_t *scratch)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand, as a value parameter was */
    const uint32_t taps = g.in_c * g.kh * g.kw, last = taps - 1u, words = (last + 3u) >> 2;
    const uint32_t out_words = (g.out_c + 31u) >> 5, window = g.pool_h * g.pool_w;
    const uint32_t *flip = w + g.out_c * words;
    uint32_t *px = scratch, *valid = scratch + ((taps + 3u) >> 2), *high = valid + ((taps + 3u) >> 2);
    /* the lanes of the last mask word that hold taps */
    const uint32_t tail = (last & 3u) == 0u ? 0xFFFFFFFFu : 0xFFFFFFFFu >> (32u - 8u * (last & 3u));
    /* 3x3 kernels over one channel, the usual first layer: three word loads per position */
    const uint32_t three = g.in_c == 1u && g.kh == 3u && g.kw == 3u && g.in_w >= 4u;
    uint32_t py, qx, d, dy, dx, o, j, r;
#if SBN_DSP
    if (three) {
        sbn_conv_u8_three(in, w, &g, thr, out, scratch);
        return;
    }
#endif
    for (py = 0u; py < g.out_h; py++) {
        for (qx = 0u; qx < g.out_w; qx++) {
            uint32_t *dst = out + (py * g.out_w + qx) * out_words;
            for (j = 0u; j < out_words; j++) {
                dst[j] = 0u;
            }
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) {
                const int32_t iy = (int32_t)((py * g.pool_stride_h + dy) * g.stride_h) - (int32_t)g.pad_h;
                const int32_t ix = (int32_t)((qx * g.pool_stride_w + dx) * g.stride_w) - (int32_t)g.pad_w;
                const uint32_t *rec = w;
                uint32_t n, x, h, valid_last = 1u;
#if !SBN_DSP /* with the DSP: sbn_conv_u8_three */
                if (three && iy >= 0 && ix >= 0 && (uint32_t)iy + 3u <= g.in_h && (uint32_t)ix + 3u <= g.in_w) {
                    /* rows a, b, c: px = (a0 a1 a2 b0) (b1 b2 c0 c1), x = c2; the last column reads
                     * from one byte before, so that no load passes the input */
                    const uint32_t back = (uint32_t)ix + 4u > g.in_w, shift = 8u * back;
                    const uint8_t *row = in + (uint32_t)iy * g.in_w + (uint32_t)ix - back;
                    const uint32_t a = sbn_load4(row) >> shift, b = sbn_load4(row + g.in_w) >> shift;
                    const uint32_t c = sbn_load4(row + 2u * g.in_w) >> shift;
                    px[0] = (a & 0x00FFFFFFu) | b << 24;
                    px[1] = ((b >> 8) & 0xFFFFu) | c << 16;
                    x = (c >> 16) & 0xFFu;
                    n = taps;
                } else if (three) { /* the same at a border, three bytes a row, 0 where padded */
                    uint32_t a, b, c, va, vb, vc;
                    a = sbn_conv_u8_row3(in, &g, iy, ix, &va);
                    b = sbn_conv_u8_row3(in, &g, iy + 1, ix, &vb);
                    c = sbn_conv_u8_row3(in, &g, iy + 2, ix, &vc);
                    px[0] = a | b << 24;
                    px[1] = b >> 8 | (c & 0xFFFFu) << 16;
                    valid[0] = va | vb << 24;
                    valid[1] = vb >> 8 | (vc & 0xFFFFu) << 16;
                    x = c >> 16;
                    valid_last = vc >> 16 & 1u;
                    n = 0u; /* not every tap: the border sums below */
                } else
#endif
                {
                    const uint32_t lane = 8u * (last & 3u);
                    n = sbn_conv_u8_gather(in, &g, iy, ix, px, valid);
                    x = (px[last >> 2] >> lane) & 0xFFu;
                    valid_last = (valid[last >> 2] >> lane) & 1u;
                    px[last >> 2] &= ~(0xFFu << lane); /* the last tap starts the sum */
                    valid[last >> 2] &= ~(0xFFu << lane);
                }
                if (n == taps) {
                    h = x + 255u * taps + 1u;
                } else { /* the sums with the padded pixels 0 and 255, and the last tap's of both */
                    for (r = 0u; r < words; r++) {
                        high[r] = px[r] | (~valid[r] & (r + 1u < words ? 0xFFFFFFFFu : tail));
                    }
                    h = (valid_last ? 2u * x : 255u) + 2u * (255u * taps + 1u);
                }
                for (j = 0u, o = 0u; j < out_words; j++) {
                    const uint32_t count = j + 1u < out_words ? 32u : g.out_c - 32u * j; /* 1..32 */
                    uint32_t word = 0u, k;
#if SBN_DSP
                    if (words == 2u) {
                        const uint32_t pos[5] = {px[0], px[1], n == taps ? h : high[0], high[1], h};
                        word = (n == taps ? sbn_conv_u8_inside2(rec, thr + o, count, pos)
                                          : sbn_conv_u8_border2(rec, thr + o, count, pos))
                               >> (32u - count);
                        rec += count * words;
                        o += count;
                    } else
#endif
                    if (n == taps) {
                        for (k = 0u; k < count; k++, o++, rec += words) {
                            uint32_t s = h;
                            for (r = 0u; r < words; r++) {
                                s = sbn_xor_sum4(px[r], rec[r], s);
                            }
                            word |= (uint32_t)((uint32_t)thr[o] >= 2u * s) << k;
                        }
                    } else {
                        for (k = 0u; k < count; k++, o++, rec += words) {
                            uint32_t s = h;
                            for (r = 0u; r < words; r++) {
                                s = sbn_xor_sum4(high[r], rec[r], sbn_xor_sum4(px[r], rec[r], s));
                            }
                            word |= (uint32_t)((uint32_t)thr[o] >= s) << k;
                        }
                    }
                    dst[j] |= word ^ flip[j];
                }
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
        }
    }
}

#endif /* SBN_CONV_U8_C */
