/* Binary convolution by a 16-bit popcount table (speed: 64 KB of flash), with
 * fused threshold, packing and max pooling, as sbn_conv_bits computes it.
 *
 * The input is first copied into the scratch as windows laid out flat: for
 * each conv row, every column of the padded input (padding as words of
 * zeros) holds its kh pixels, top to bottom, in_words words each. A conv
 * position's window is then kw such columns side by side, one run of
 * taps * in_words words, and the export packs each channel's weights in the
 * same (kx, ky, word) order. A padded tap mismatches by the bit count of its
 * weights, which the export folds into the thresholds (ops/conv2d.py,
 * conv_bits_lut_records): one set of out_c thresholds per border case, a
 * case being a conv row's and a conv column's set of padded taps. After the
 * packed weights, w holds the offset of each conv row's case (its index
 * times the column cases times out_c) and then each conv column's (its
 * index times out_c) into thr. thr holds -(K + 1): a channel's bit at a
 * position is (thr + mismatches < 0), every tap counted by xor and two
 * table loads a word. Max pooling of ±1 values is an OR of bits, so a
 * channel stops at the first position of its pooling window that gives +1.
 *
 * With Helium (M55), a window is counted four words a veor: the bit counts of
 * their eight halfwords come from the same table in one gather, summed onto
 * the threshold by vaddva. A channel's weights of a 3x3 window of one word a
 * tap stay in three vectors across its pooling window. */
#ifndef SBN_CONV_BITS_LUT_C
#define SBN_CONV_BITS_LUT_C

#include "sbn_conv.h"
#include "sbn_kernels.h"
#include "sbn_popcount16.h"

/* Scratch words for one call: the windows' columns of every conv row, and
 * per position of the pooling window where its window and thresholds start. */
#define SBN_CONV_BITS_LUT_SCRATCH_WORDS(in_c, kh, conv_h, padded_w, window) \
    ((conv_h) * (padded_w) * (kh) * (((in_c) + 31u) / 32u) + 2u * (window))

#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define SBN_LUT_MVE 1

/* The bit counts of the eight halfwords of v ^ u, from the table in one gather. */
SBN_INLINE uint16x8_t sbn_conv_bits_lut_counts(uint32x4_t v, uint32x4_t u)
{
    return vldrbq_gather_offset_u16(sbn_popcount16, vreinterpretq_u16_u32(veorq_u32(v, u)));
}

/* count (1..32) channels of run words a window, the first channel's bit in bit 32 - count (the
 * caller shifts them down): at holds per position of the pooling window the addresses of its words
 * and of its thresholds, at_end past them; the thresholds from byte o of each position's. Four words
 * a vector, the last 1..4 under a tail predicate. */
SBN_NOINLINE static uint32_t sbn_conv_bits_lut_words(const uint32_t *w, uint32_t run, uint32_t o, uint32_t count,
                                                     const uint32_t *at, const uint32_t *at_end)
{
    const mve_pred16_t tail = vctp32q(run - ((run - 1u) & ~3u));
    uint32_t word = 0u, k;
    for (; count > 0u; count--, w += run, o += 4u) {
        const uint32_t *p = at;
        uint32_t m;
        do {
            const uint32_t *x = (const uint32_t *)(uintptr_t)p[0], *wk = w;
            m = *(const uint32_t *)((uintptr_t)p[1] + o);
            for (k = run; k > 4u; k -= 4u, x += 4, wk += 4) {
                m = vaddvaq_u16(m, sbn_conv_bits_lut_counts(vld1q_u32(x), vld1q_u32(wk)));
            }
            m = vaddvaq_u16(m, sbn_conv_bits_lut_counts(vldrwq_z_u32(x, tail), vldrwq_z_u32(wk, tail)));
            p += 2;
        } while ((int32_t)m >= 0 && p != at_end);
        word = (word >> 1) | (m & 0x80000000u);
    }
    return word;
}

/* The same for a 3x3 window of one word a tap (run 9). A channel's weights stay in three vectors, the
 * ninth word a byte a lane, as the window's is read: no predicate. Per position of the pooling
 * window: ldrd of the addresses, three loads, veors, gathers and vaddvas onto the threshold, whose
 * sign is the bit. */
SBN_NOINLINE static uint32_t sbn_conv_bits_lut_word9(const uint32_t *w, uint32_t o, uint32_t count,
                                                     const uint32_t *at, const uint32_t *at_end)
{
    uint32_t word = 0u;
    for (; count > 0u; count--, w += 9, o += 4u) {
        const uint32x4_t w0 = vld1q_u32(w), w1 = vld1q_u32(w + 4), w2 = vldrbq_u32((const uint8_t *)(w + 8));
        const uint32_t *p = at;
        uint32_t x, t, m;
        __asm__("1:\n\t"
                "ldrd %[x], %[t], [%[p]], #8\n\t"
                "vldrw.32 q4, [%[x]]\n\t"
                "vldrw.32 q5, [%[x], #16]\n\t"
                "vldrb.u32 q6, [%[x], #32]\n\t"
                "ldr %[m], [%[t], %[o]]\n\t"
                "veor q4, q4, %q[w0]\n\t"
                "veor q5, q5, %q[w1]\n\t"
                "veor q6, q6, %q[w2]\n\t"
                "vldrb.u16 q7, [%[lut], q4]\n\t" /* a gather's destination is not its offsets */
                "vldrb.u16 q4, [%[lut], q5]\n\t"
                "vldrb.u16 q5, [%[lut], q6]\n\t"
                "vaddva.u16 %[m], q7\n\t"
                "vaddva.u16 %[m], q4\n\t"
                "vaddva.u16 %[m], q5\n\t"
                "cmp %[m], #0\n\t"
                "blt 2f\n\t"
                "cmp %[p], %[end]\n\t"
                "bne 1b\n"
                "2:\n\t"
                : [p] "+r"(p), [x] "=&r"(x), [t] "=&r"(t), [m] "=&Te"(m) /* Te: vaddva takes an even register */
                : [end] "r"(at_end), [o] "r"(o), [lut] "r"(sbn_popcount16), [w0] "w"(w0), [w1] "w"(w1),
                  [w2] "w"(w2)
                : "q4", "q5", "q6", "q7", "cc", "memory");
        word = (word >> 1) | (m & 0x80000000u);
    }
    return word;
}
#else
#define SBN_LUT_MVE 0
#endif

#if SBN_THUMB2 && !SBN_LUT_MVE
/* One row of three words: ldm of the input and the weights, eor, a full
 * adder (the bits set in three words are those of their sum bits l plus
 * twice those of their carries h), and for h and l each: uxth, lsr, two
 * table loads and two adds. The last add sets the flags. */
#define SBN_LUT_ROW(last) \
    "ldmia %[x]!, {r0, r1, r2}\n\t" \
    "ldmia %[w]!, {r3, r4, r5}\n\t" \
    "eors r0, r0, r3\n\t" \
    "eors r1, r1, r4\n\t" \
    "eors r2, r2, r5\n\t" \
    "eor r3, r0, r1\n\t" \
    "and r0, r0, r1\n\t" \
    "and r4, r3, r2\n\t" \
    "orr r0, r0, r4\n\t" /* h */ \
    "eor r2, r3, r2\n\t" /* l */ \
    "uxth r3, r0\n\t" \
    "ldrb r3, [%[lut], r3]\n\t" \
    "lsrs r0, r0, #16\n\t" \
    "ldrb r0, [%[lut], r0]\n\t" \
    "add r3, r3, r0\n\t" \
    "add %[m], %[m], r3, lsl #1\n\t" \
    "uxth r3, r2\n\t" \
    "ldrb r3, [%[lut], r3]\n\t" \
    "lsrs r2, r2, #16\n\t" \
    "ldrb r2, [%[lut], r2]\n\t" \
    "add r3, r3, r2\n\t" \
    last " %[m], %[m], r3\n\t"

/* count (1..32) channels of nine words a window (3x3 taps of one word), the
 * first channel's bit in bit 32 - count: the caller shifts them down. at
 * holds per position of the window the addresses of its words and of its
 * thresholds, at_end past them. Not inlined: the loop takes every register. */
SBN_NOINLINE static uint32_t sbn_conv_bits_lut_word9(const uint32_t *w, uint32_t thr_byte, uint32_t count,
                                                     const uint32_t *at, const uint32_t *at_end)
{
    const uint32_t end = thr_byte + 4u * count;
    uint32_t word = 0u, x, m;
    const uint32_t *p;
    __asm__("1:\n\t"
            "ldr %[p], %[at]\n\t"
            "2:\n\t"
            "ldrd %[x], %[m], [%[p]], #8\n\t"
            "ldr %[m], [%[m], %[o]]\n\t"
            SBN_LUT_ROW("add") SBN_LUT_ROW("add") SBN_LUT_ROW("adds")
            "bmi 3f\n\t"
            "cmp %[p], %[end]\n\t"
            "sub %[w], %[w], #36\n\t"
            "bne 2b\n\t"
            "add %[w], %[w], #36\n\t"
            "3:\n\t"
            "lsls r0, %[m], #1\n\t" /* carry: the sign of m, the bit */
            "rrx %[word], %[word]\n\t"
            "ldr r0, %[last]\n\t"
            "add %[o], %[o], #4\n\t"
            "cmp %[o], r0\n\t"
            "bne 1b\n\t"
            : [w] "+r"(w), [o] "+r"(thr_byte), [word] "+r"(word), [p] "=&r"(p), [x] "=&r"(x), [m] "=&r"(m)
            : [at] "m"(at), [end] "r"(at_end), [lut] "r"(sbn_popcount16), [last] "m"(end)
            : "r0", "r1", "r2", "r3", "r4", "r5", "cc", "memory");
    return word;
}
#undef SBN_LUT_ROW
#endif

#if defined(__GNUC__) && defined(__thumb__) && !SBN_THUMB2
#define SBN_LUT_THUMB1 1
/* Thumb-1: m plus the mismatches of nine words (a 3x3 window of one word a
 * tap): ldm of three weights, and per word ldr, eor, uxth, lsr, two table
 * loads and two adds into m, kept in a high register. */
#define SBN_LUT1_WORD(r, offset) \
    "ldr %[t], [%[x], #" offset "]\n\t" \
    "eors " r ", " r ", %[t]\n\t" \
    "uxth %[t], " r "\n\t" \
    "ldrb %[t], [%[lut], %[t]]\n\t" \
    "add %[m], %[m], %[t]\n\t" \
    "lsrs " r ", " r ", #16\n\t" \
    "ldrb " r ", [%[lut], " r "]\n\t" \
    "add %[m], %[m], " r "\n\t"
#define SBN_LUT1_ROW(a, b, c) \
    "ldmia %[w]!, {r0, r1, r2}\n\t" SBN_LUT1_WORD("r0", a) SBN_LUT1_WORD("r1", b) SBN_LUT1_WORD("r2", c)
static inline int32_t sbn_conv_bits_lut_count9(const uint32_t *x, const uint32_t *w, int32_t m)
{
    uint32_t t;
    __asm__(".syntax unified\n\t"
            SBN_LUT1_ROW("0", "4", "8") SBN_LUT1_ROW("12", "16", "20") SBN_LUT1_ROW("24", "28", "32")
            ".syntax divided\n\t"
            : [w] "+l"(w), [m] "+h"(m), [t] "=&l"(t)
            : [x] "l"(x), [lut] "l"(sbn_popcount16)
            : "r0", "r1", "r2", "cc", "memory");
    return m;
}
#undef SBN_LUT1_ROW
#undef SBN_LUT1_WORD
#else
#define SBN_LUT_THUMB1 0
#endif

SBN_API SBN_NOINLINE void sbn_conv_bits_lut(const uint32_t *in, const uint32_t *w, const sbn_conv *geometry,
                                            const int32_t *thr, uint32_t *out, uint32_t *scratch)
{
    const sbn_conv g = *geometry; /* a copy the compiler keeps at hand */
    const uint32_t in_words = (g.in_c + 31u) >> 5, out_words = (g.out_c + 31u) >> 5;
    const uint32_t pw = g.in_w + 2u * g.pad_w, column = g.kh * in_words, run = g.kw * column;
    const uint32_t conv_h = (g.in_h + 2u * g.pad_h - g.kh) / g.stride_h + 1u, window = g.pool_h * g.pool_w;
    const uint32_t *rows = w + g.out_c * run, *cols = rows + conv_h;
    uint32_t *flat = scratch, *at = scratch + conv_h * pw * column;
    uint32_t cy, x, ky, i, py, qx, d, dy, dx, j, o;
    for (cy = 0u; cy < conv_h; cy++) { /* every conv row's window columns */
        uint32_t *dst = flat + cy * pw * column;
        for (x = 0u; x < pw; x++) {
            for (ky = 0u; ky < g.kh; ky++, dst += in_words) {
                const uint32_t y = cy * g.stride_h + ky; /* in the padded input */
                if (y >= g.pad_h && y < g.pad_h + g.in_h && x >= g.pad_w && x < g.pad_w + g.in_w) {
                    const uint32_t *src = in + ((y - g.pad_h) * g.in_w + x - g.pad_w) * in_words;
                    for (i = 0u; i < in_words; i++) {
                        dst[i] = src[i];
                    }
                } else {
                    for (i = 0u; i < in_words; i++) {
                        dst[i] = 0u;
                    }
                }
            }
        }
    }
    for (py = 0u; py < g.out_h; py++) {
        for (qx = 0u; qx < g.out_w; qx++) {
            uint32_t *dst = out + (py * g.out_w + qx) * out_words;
#if SBN_THUMB2
            if (run == 9u || SBN_LUT_MVE) { /* 3x3 taps of at most 32 channels (the usual hidden layer); any, on MVE */
                for (d = 0u, dy = 0u, dx = 0u; d < window; d++) {
                    const uint32_t cr = py * g.pool_stride_h + dy, cx = qx * g.pool_stride_w + dx;
                    at[2u * d] = (uint32_t)(uintptr_t)(flat + (cr * pw + cx * g.stride_w) * column);
                    at[2u * d + 1u] = (uint32_t)(uintptr_t)(thr + rows[cr] + cols[cx]);
                    if (++dx == g.pool_w) { /* no division: M0 has none */
                        dx = 0u;
                        dy++;
                    }
                }
                for (j = 0u, o = 0u; j < out_words; j++, o += 32u) {
                    const uint32_t count = j + 1u < out_words ? 32u : g.out_c - o; /* 1..32 */
#if SBN_LUT_MVE
                    if (run != 9u) {
                        dst[j] = sbn_conv_bits_lut_words(w + o * run, run, 4u * o, count, at, at + 2u * window)
                                 >> (32u - count);
                        continue;
                    }
#endif
                    dst[j] = sbn_conv_bits_lut_word9(w + o * 9u, 4u * o, count, at, at + 2u * window) >> (32u - count);
                }
                continue;
            }
#endif
            for (d = 0u, dy = 0u, dx = 0u; d < window; d++) {
                const uint32_t cr = py * g.pool_stride_h + dy, cx = qx * g.pool_stride_w + dx;
                at[d] = (cr * pw + cx * g.stride_w) * column;
                at[window + d] = rows[cr] + cols[cx];
                if (++dx == g.pool_w) {
                    dx = 0u;
                    dy++;
                }
            }
            for (j = 0u; j < out_words; j++) {
                dst[j] = 0u;
            }
            for (o = 0u; o < g.out_c; o++) {
                const uint32_t *wo = w + o * run;
                for (d = 0u; d < window; d++) {
                    const uint32_t *xs = flat + at[d];
                    int32_t m = thr[at[window + d] + o];
#if SBN_LUT_THUMB1
                    if (run == 9u) {
                        m = sbn_conv_bits_lut_count9(xs, wo, m);
                    } else
#endif
                    {
                        for (i = 0u; i < run; i++) {
                            m += (int32_t)sbn_popcount32(xs[i] ^ wo[i]);
                        }
                    }
                    if (m < 0) {
                        dst[o >> 5] |= 1u << (o & 31u);
                        break;
                    }
                }
            }
        }
    }
}

#endif /* SBN_CONV_BITS_LUT_C */
