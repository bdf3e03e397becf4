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
 * index times out_c), then the flip words, then per channel its two masks as
 * byte offsets into the tables below (a | b << 16). Each position gathers its nine pixels into two
 * words and p8 + 1 with three word loads, and sweeps every channel: two
 * usada8, a compare and an rrx, in assembly on DSP cores; elsewhere two
 * tables of the sums for all 16 masks of four taps, and two table loads. */
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
/* Other cores: for each of the 16 masks b of four taps, t[b] = base + the sum
 * over the four bytes p_k of p of p_k, or 255 - p_k where bit k of b is set:
 * adds of 255 - 2 p_k, modulo 2^16, each entry in range. */
SBN_INLINE void sbn_conv_u8_3x3_table(uint16_t *t, uint32_t p, uint32_t base)
{
    const uint32_t p0 = p & 0xFFu, p1 = p >> 8 & 0xFFu, p2 = p >> 16 & 0xFFu, p3 = p >> 24;
    const uint32_t d0 = 255u - 2u * p0, d1 = 255u - 2u * p1, d2 = 255u - 2u * p2, d3 = 255u - 2u * p3;
    const uint32_t e0 = base + p0 + p1 + p2 + p3, e1 = e0 + d0, e2 = e0 + d1, e3 = e1 + d1;
    const uint32_t e4 = e0 + d2, e5 = e1 + d2, e6 = e2 + d2, e7 = e3 + d2;
    t[0] = (uint16_t)e0;
    t[1] = (uint16_t)e1;
    t[2] = (uint16_t)e2;
    t[3] = (uint16_t)e3;
    t[4] = (uint16_t)e4;
    t[5] = (uint16_t)e5;
    t[6] = (uint16_t)e6;
    t[7] = (uint16_t)e7;
    t[8] = (uint16_t)(e0 + d3);
    t[9] = (uint16_t)(e1 + d3);
    t[10] = (uint16_t)(e2 + d3);
    t[11] = (uint16_t)(e3 + d3);
    t[12] = (uint16_t)(e4 + d3);
    t[13] = (uint16_t)(e5 + d3);
    t[14] = (uint16_t)(e6 + d3);
    t[15] = (uint16_t)(e7 + d3);
}

/* The bits of count (1..32) channels as the DSP path gives them, from the
 * two tables of the position (t, t + 16) and each channel's two masks as byte
 * offsets into them (a | b << 16); the channels from the last, each bit
 * shifted in from below. */
SBN_NOINLINE static uint32_t sbn_conv_u8_3x3_word(const uint32_t *index, const int32_t *thr, uint32_t count,
                                                  const uint16_t *t)
{
    uint32_t word = 0u;
#if defined(__GNUC__) && defined(__thumb__)
    uint32_t k = 4u * count, v, s, r;
    __asm__(".syntax unified\n\t"
            "1:\n\t"
            "subs %[k], %[k], #4\n\t"
            "ldr %[v], [%[index], %[k]]\n\t"
            "ldr %[r], [%[thr], %[k]]\n\t"
            "uxth %[s], %[v]\n\t"
            "lsrs %[v], %[v], #16\n\t"
            "ldrh %[s], [%[t], %[s]]\n\t"
            "ldrh %[v], [%[t], %[v]]\n\t"
            "adds %[s], %[s], %[v]\n\t"
            "cmp %[r], %[s]\n\t" /* carry: R >= S + 1 */
            "adcs %[word], %[word], %[word]\n\t"
            "cmp %[k], #0\n\t"
            "bne 1b\n\t"
            ".syntax divided\n\t"
            : [k] "+l"(k), [word] "+l"(word), [v] "=&l"(v), [s] "=&l"(s), [r] "=&l"(r)
            : [index] "l"(index), [thr] "l"(thr), [t] "l"(t)
            : "cc", "memory");
#else
    const uint8_t *bytes = (const uint8_t *)t;
    uint32_t k = count;
    while (k-- > 0u) {
        const uint32_t v = index[k];
        const uint16_t *a = (const uint16_t *)(bytes + (v & 0xFFFFu)), *b = (const uint16_t *)(bytes + (v >> 16));
        const uint32_t s = (uint32_t)*a + *b;
        word = word * 2u + (uint32_t)((uint32_t)thr[k] >= s);
    }
#endif
    return word << (32u - count);
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
#if !SBN_DSP
    const uint32_t *index = flip + out_words;
    uint16_t table[32];
#endif
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
#if !SBN_DSP
                sbn_conv_u8_3x3_table(table, p0, x);
                sbn_conv_u8_3x3_table(table + 16, p1, 0u);
#endif
                for (j = 0u, o = 0u; j < out_words; j++, o += 32u) {
                    const uint32_t count = j + 1u < out_words ? 32u : g.out_c - o; /* 1..32 */
#if SBN_DSP
                    const uint32_t bits = sbn_conv_u8_3x3_word(w + 2u * o, r + o, count, p0, p1, x);
#else
                    const uint32_t bits = sbn_conv_u8_3x3_word(index + o, r + o, count, table);
#endif
                    dst[j] |= (bits >> (32u - count)) ^ flip[j];
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
