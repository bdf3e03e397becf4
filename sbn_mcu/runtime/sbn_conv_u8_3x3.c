/* The first convolution on raw uint8 input for 3x3 kernels over one channel
 * (speed), with fused threshold, packing and max pooling, as sbn_conv_u8
 * computes it; any stride, padding and pool.
 *
 * As in sbn_conv_u8, the export flips every channel whose last tap weighs +1
 * (negated weights, threshold 1 - t, the bit inverted back by one XOR per
 * output word with the flip words), so the last tap adds the same pixel p8
 * to every channel, and a weight is a byte mask m (255 for +1): with S the
 * sum of |p - m| over the nine taps, acc = 255 n - 2 S over the taps inside.
 * Here the input is first copied into the scratch with its padding as bytes
 * of 0; a padded tap then adds m to S, and the export folds that into
 * thresholds of each border case (ops/conv2d.py, conv_u8_3x3_records): a case
 * is a conv row's set of padded kernel rows with a conv column's set of
 * padded kernel columns, and thr holds per case and channel
 * R = floor((255 (n + 2 E) - t') / 2) + 1, E the padded taps of mask 255,
 * clamped to [0, 2296]. The bit is (R >= S + 1): every position costs the
 * same. Per channel, w holds two mask words, taps (0 1 2 6) and (3 4 5 7);
 * after the channels, the thresholds' offset of each conv row's case (its
 * index times the column cases times out_c) and of each conv column's (its
 * index times out_c), then the flip words. Each position gathers its nine
 * pixels into two words and p8 + 1 with three word loads, and sweeps every
 * channel: two usada8, a compare and an rrx, in assembly on DSP cores. */
#ifndef SBN_CONV_U8_3X3_C
#define SBN_CONV_U8_3X3_C

#include "sbn_bits.h"
#include "sbn_conv.h"
#include "sbn_kernels.h"

/* Scratch words for one call: the padded input, rows of in_w + 2 pad_w bytes
 * and at least one more, a whole number of words. */
#define SBN_CONV_U8_3X3_SCRATCH_WORDS(in_h, in_w, pad_h, pad_w) \
    (((in_h) + 2u * (pad_h)) * (((in_w) + 2u * (pad_w) + 4u) / 4u))

/* A word as four bytes at any alignment; compilers emit a single store where
 * the core allows unaligned access. */
static inline void sbn_conv_u8_3x3_store4(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#if SBN_DSP
/* Two channels: masks in r0, r1 and r3, r4, thresholds in r2, r5; carry =
 * (R >= S + 1), shifted into the top of word. */
#define SBN_U8_3X3_PAIR \
    "ldmia %[rec]!, {r0, r1, r3, r4}\n\t" \
    "ldmia %[thr]!, {r2, r5}\n\t" \
    "usada8 r0, %[p0], r0, %[x]\n\t" \
    "usada8 r0, %[p1], r1, r0\n\t" \
    "cmp r2, r0\n\t" \
    "rrx %[word], %[word]\n\t" \
    "usada8 r3, %[p0], r3, %[x]\n\t" \
    "usada8 r3, %[p1], r4, r3\n\t" \
    "cmp r5, r3\n\t" \
    "rrx %[word], %[word]\n\t"
#define SBN_U8_3X3_ONE \
    "ldmia %[rec]!, {r0, r1}\n\t" \
    "ldr r2, [%[thr]], #4\n\t" \
    "usada8 r0, %[p0], r0, %[x]\n\t" \
    "usada8 r0, %[p1], r1, r0\n\t" \
    "cmp r2, r0\n\t" \
    "rrx %[word], %[word]\n\t"
#define SBN_U8_3X3_LOOP(BODY) \
    __asm__("1:\n\t" BODY "subs %[n], %[n], #1\n\t" "bne 1b\n\t" \
            : [rec] "+r"(rec), [thr] "+r"(thr), [n] "+r"(n), [word] "+r"(word) \
            : [p0] "r"(p0), [p1] "r"(p1), [x] "r"(x) \
            : "r0", "r1", "r2", "r3", "r4", "r5", "cc", "memory")

/* The bits of count (1..32) channels, the first channel's in bit 32 - count:
 * the caller shifts them down. Not inlined: the loop takes 13 registers. */
SBN_NOINLINE static uint32_t sbn_conv_u8_3x3_word(const uint32_t *rec, const int32_t *thr, uint32_t count,
                                                  uint32_t p0, uint32_t p1, uint32_t x)
{
    uint32_t word = 0u, n = count >> 4;
    if (n > 0u) {
        SBN_U8_3X3_LOOP(SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR
                        SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR SBN_U8_3X3_PAIR);
    }
    n = count & 15u;
    if (n > 0u) {
        SBN_U8_3X3_LOOP(SBN_U8_3X3_ONE);
    }
    return word;
}
#undef SBN_U8_3X3_LOOP
#undef SBN_U8_3X3_ONE
#undef SBN_U8_3X3_PAIR
#else
/* The same in C: |p - m| is p ^ m for a mask m of 0 or 255. */
static uint32_t sbn_conv_u8_3x3_word(const uint32_t *rec, const int32_t *thr, uint32_t count, uint32_t p0,
                                     uint32_t p1, uint32_t x)
{
    uint32_t word = 0u, k;
    for (k = 0u; k < count; k++, rec += 2) {
        const uint32_t s = x + sbn_bytesum(p0 ^ rec[0]) + sbn_bytesum(p1 ^ rec[1]);
        word = word >> 1 | (uint32_t)((uint32_t)thr[k] >= s) << 31;
    }
    return word;
}
#endif

SBN_API SBN_NOINLINE void sbn_conv_u8_3x3(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry,
                                          const int32_t *thr, uint32_t *out, uint32_t *scratch)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand */
    const uint32_t out_words = (g.out_c + 31u) >> 5, window = g.pool_h * g.pool_w;
    const uint32_t pw = g.in_w + 2u * g.pad_w, ph = g.in_h + 2u * g.pad_h, pitch = 4u * ((pw + 4u) >> 2);
    const uint32_t conv_h = (ph - 3u) / g.stride_h + 1u, conv_w = (pw - 3u) / g.stride_w + 1u;
    const uint32_t *rows = w + 2u * g.out_c, *cols = rows + conv_h, *flip = cols + conv_w;
    uint8_t *pad = (uint8_t *)scratch;
    uint32_t y, i, py, qx, d, dy, dx, j, o;
    for (y = 0u; y < ph; y++) { /* the padded copy, 0 in the padding and past each row */
        uint8_t *row = pad + y * pitch;
        const uint32_t inside = y >= g.pad_h && y < g.pad_h + g.in_h;
        for (i = 0u; i < pitch; i += 4u) {
            sbn_conv_u8_3x3_store4(row + i, 0u);
        }
        if (inside) {
            const uint8_t *src = in + (y - g.pad_h) * g.in_w;
            for (i = 0u; i + 4u <= g.in_w; i += 4u) {
                sbn_conv_u8_3x3_store4(row + g.pad_w + i, sbn_load4(src + i));
            }
            for (; i < g.in_w; i++) {
                row[g.pad_w + i] = src[i];
            }
        }
    }
    for (py = 0u; py < g.out_h; py++) {
        for (qx = 0u; qx < g.out_w; qx++) {
            uint32_t *dst = out + (py * g.out_w + qx) * out_words;
            for (j = 0u; j < out_words; j++) {
                dst[j] = 0u;
            }
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) {
                const uint32_t cy = py * g.pool_stride_h + dy, cx = qx * g.pool_stride_w + dx;
                /* rows a, b, c: p0 = (a0 a1 a2 c0), p1 = (b0 b1 b2 c1), x = c2 + 1 */
                const uint8_t *q = pad + cy * g.stride_h * pitch + cx * g.stride_w;
                const uint32_t a = sbn_load4(q), b = sbn_load4(q + pitch), c = sbn_load4(q + 2u * pitch);
                const uint32_t p0 = (a & 0x00FFFFFFu) | c << 24, p1 = (b & 0x00FFFFFFu) | (c >> 8) << 24;
                const uint32_t x = ((c >> 16) & 0xFFu) + 1u;
                const int32_t *r = thr + rows[cy] + cols[cx];
                for (j = 0u, o = 0u; j < out_words; j++, o += 32u) {
                    const uint32_t count = j + 1u < out_words ? 32u : g.out_c - o; /* 1..32 */
                    dst[j] |= (sbn_conv_u8_3x3_word(w + 2u * o, r + o, count, p0, p1, x) >> (32u - count)) ^ flip[j];
                }
                if (++dx == g.pool_w) { /* no division: M0 has none */
                    dx = 0u;
                    dy++;
                }
            }
        }
    }
}

#endif /* SBN_CONV_U8_3X3_C */
