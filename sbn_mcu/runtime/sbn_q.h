/* Signed sums over the normalised integer input q (int32; see sbn_input_q.c)
 * with ±1 weights as bits (1 = +1): input j of a row is bit j % 32 of its
 * word j / 32, and bits past the row's inputs are 0.
 *
 * By tables of signed subset sums: each group of four inputs x0..x3 gets the
 * sixteen sums t[m] = sum over k of (bit k of m ? +x_k : -x_k), so that a
 * row's sum(w * q) is one lookup and one add per nibble of its weights,
 * whatever the size of q (|q| < 2^22: an entry fits int32 easily). A
 * missing input (past the end, or a padded tap) is 0 and adds nothing either
 * way. A table costs six to ten instructions per input to build, once per
 * conv position or per block of SBN_Q_BLOCK dense outputs; a row then reads
 * four inputs with one lookup (shift and mask, load, add: about four
 * instructions on the M0 and M4; on the M55 a word's eight lookups are two
 * Helium gathers) where a masked add per input took four to six. */
#ifndef SBN_Q_H
#define SBN_Q_H

#include "sbn_port.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>
#define SBN_Q_MVE 1 /* Helium (M55): four entries a vector; eight lookups as two gathers */
#else
#define SBN_Q_MVE 0
#endif

#define SBN_Q_ENTRIES 16u /* int32 entries per table: one per nibble of weights */
#define SBN_Q_BLOCK 32u   /* outputs a dense kernel sums per pass over its tables */

#if SBN_Q_MVE
/* The table of four inputs: entries 0..3 in one vector, the others by adding 2 x2 and 2 x3 to it. */
static inline void sbn_q_table(int32_t *t, int32_t x0, int32_t x1, int32_t x2, int32_t x3)
{
    const int32_t a0 = -(x0 + x1 + x2 + x3), a1 = a0 + 2 * x0;
    int32x4_t v = vsetq_lane_s32(a1, vdupq_n_s32(a0), 1);
    v = vsetq_lane_s32(a1 + 2 * x1, vsetq_lane_s32(a0 + 2 * x1, v, 2), 3);
    vst1q_s32(t, v);
    vst1q_s32(t + 8, vaddq_n_s32(v, 2 * x3));
    v = vaddq_n_s32(v, 2 * x2);
    vst1q_s32(t + 4, v);
    vst1q_s32(t + 12, vaddq_n_s32(v, 2 * x3));
}
#else
/* The table of four inputs, four entries at a time (few registers: the M0 has eight). */
static inline void sbn_q_table(int32_t *t, int32_t x0, int32_t x1, int32_t x2, int32_t x3)
{
    int32_t a0 = -(x0 + x1 + x2 + x3), a1, a2, a3;
    x0 *= 2;
    x1 *= 2;
    x2 *= 2;
    x3 *= 2;
    a1 = a0 + x0;
    a2 = a0 + x1;
    a3 = a1 + x1;
    t[0] = a0;
    t[1] = a1;
    t[2] = a2;
    t[3] = a3;
    t[8] = a0 + x3;
    t[9] = a1 + x3;
    t[10] = a2 + x3;
    t[11] = a3 + x3;
    a0 += x2;
    a1 += x2;
    a2 += x2;
    a3 += x2;
    t[4] = a0;
    t[5] = a1;
    t[6] = a2;
    t[7] = a3;
    t[12] = a0 + x3;
    t[13] = a1 + x3;
    t[14] = a2 + x3;
    t[15] = a3 + x3;
}
#endif

/* The tables of n inputs q, in ceil(n / 4) groups of SBN_Q_ENTRIES. */
static inline void sbn_q_tables(int32_t *t, const int32_t *q, uint32_t n)
{
    uint32_t i;
    for (i = 0u; i + 4u <= n; i += 4u, t += SBN_Q_ENTRIES) {
        sbn_q_table(t, q[i], q[i + 1u], q[i + 2u], q[i + 3u]);
    }
    if (i < n) {
        sbn_q_table(t, q[i], i + 1u < n ? q[i + 1u] : 0, i + 2u < n ? q[i + 2u] : 0, 0);
    }
}

/* One word's eight lookups: groups 0..7 of the tables t. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__thumb__) && !SBN_THUMB2
/* v6-M (M0): per nibble a shift and a mask to its byte offset, the next table, a load and an add; in
 * assembly, which the compiler's eight low registers otherwise spill. */
#define SBN_Q_V6(right) \
    "adds %[p], #64\n\tlsrs %[o], %[b], #" #right "\n\tands %[o], %[m]\n\t" \
    "ldr %[x], [%[p], %[o]]\n\tadds %[s], %[s], %[x]\n\t"
static inline int32_t sbn_q_word(const int32_t *t, uint32_t bits)
{
    const int32_t *p = t;
    int32_t s, x;
    uint32_t o;
    __asm__(".syntax unified\n\t"
            "lsls %[o], %[b], #2\n\tands %[o], %[m]\n\tldr %[s], [%[p], %[o]]\n\t"
            SBN_Q_V6(2) SBN_Q_V6(6) SBN_Q_V6(10) SBN_Q_V6(14) SBN_Q_V6(18) SBN_Q_V6(22) SBN_Q_V6(26)
            ".syntax divided"
            : [s] "=&l"(s), [x] "=&l"(x), [o] "=&l"(o), [p] "+l"(p)
            : [b] "l"(bits), [m] "l"(60u)
            : "cc", "memory");
    return s;
}
#elif SBN_Q_MVE
/* Helium: the eight nibbles' indices in two vectors (nibble k of the low half at lane k, table k), gathered. */
static inline int32_t sbn_q_word(const int32_t *t, uint32_t bits)
{
    const int32x4_t right = {0, -4, -8, -12};
    const uint32x4_t low = {0u, 16u, 32u, 48u}, high = {64u, 80u, 96u, 112u}, nibble = vdupq_n_u32(15u);
    const uint32x4_t lo = vaddq_u32(vandq_u32(vshlq_u32(vdupq_n_u32(bits), right), nibble), low);
    const uint32x4_t hi = vaddq_u32(vandq_u32(vshlq_u32(vdupq_n_u32(bits >> 16), right), nibble), high);
    return vaddvq_s32(vaddq_s32(vldrwq_gather_shifted_offset_s32(t, lo), vldrwq_gather_shifted_offset_s32(t, hi)));
}
#else
static inline int32_t sbn_q_word(const int32_t *t, uint32_t bits)
{
    return t[bits & 15u] + t[16u + (bits >> 4 & 15u)] + t[32u + (bits >> 8 & 15u)] + t[48u + (bits >> 12 & 15u)]
        + t[64u + (bits >> 16 & 15u)] + t[80u + (bits >> 20 & 15u)] + t[96u + (bits >> 24 & 15u)]
        + t[112u + (bits >> 28)];
}
#endif

/* sum(w * q) of one row of weights w over the tables t of its groups. */
static inline sbn_acc_t sbn_q_row(const int32_t *t, const uint32_t *w, uint32_t groups)
{
    sbn_acc_t acc = 0;
    int32_t last = 0;
    uint32_t bits;
    for (; groups >= 8u; groups -= 8u, t += 8u * SBN_Q_ENTRIES) {
        acc += (sbn_acc_t)sbn_q_word(t, *w++);
    }
    if (groups != 0u) { /* the last word's groups */
        bits = *w;
#if SBN_Q_MVE /* the word's gathers, lanes past the groups predicated off */
        {
            const int32x4_t right = {0, -4, -8, -12};
            const uint32x4_t low = {0u, 16u, 32u, 48u}, high = {64u, 80u, 96u, 112u}, nibble = vdupq_n_u32(15u);
            const uint32x4_t lo = vaddq_u32(vandq_u32(vshlq_u32(vdupq_n_u32(bits), right), nibble), low);
            const uint32x4_t hi = vaddq_u32(vandq_u32(vshlq_u32(vdupq_n_u32(bits >> 16), right), nibble), high);
            const mve_pred16_t first = vctp32q(groups), second = vctp32q(groups > 4u ? groups - 4u : 0u);
            last = vaddvq_s32(vaddq_s32(vldrwq_gather_shifted_offset_z_s32(t, lo, first),
                                        vldrwq_gather_shifted_offset_z_s32(t, hi, second)));
        }
#else
        switch (groups) {
        case 7u:
            last += t[96u + (bits >> 24 & 15u)];
            /* fall through */
        case 6u:
            last += t[80u + (bits >> 20 & 15u)];
            /* fall through */
        case 5u:
            last += t[64u + (bits >> 16 & 15u)];
            /* fall through */
        case 4u:
            last += t[48u + (bits >> 12 & 15u)];
            /* fall through */
        case 3u:
            last += t[32u + (bits >> 8 & 15u)];
            /* fall through */
        case 2u:
            last += t[16u + (bits >> 4 & 15u)];
            /* fall through */
        default:
            last += t[bits & 15u];
        }
#endif
    }
    return acc + (sbn_acc_t)last;
}

/* Words of tables for n inputs, in the scratch of a dense kernel: those of one word of inputs, SBN_Q_ENTRIES
 * per four of its first min(n, 32). Its block's sums follow them (SBN_DENSE_Q_SCRATCH_WORDS), at a multiple
 * of 16 words from the scratch, aligned as it is. */
static inline uint32_t sbn_q_table_words(uint32_t n)
{
    return n < 32u ? (n + 3u) / 4u * SBN_Q_ENTRIES : 8u * SBN_Q_ENTRIES;
}

/* sum(w * q) for the rows o0 .. o0 + m - 1 (m <= SBN_Q_BLOCK) of a dense layer over n inputs, into acc:
 * a word of inputs at a time, whose tables t (sbn_q_table_words(n) words of scratch) every row reads. */
static inline void sbn_q_block(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t o0, uint32_t m,
                               int32_t *t, sbn_acc_t *acc)
{
    const uint32_t words = (n + 31u) >> 5;
    uint32_t i, j, k;
#if defined(__GNUC__)
    __asm__("" : "+r"(t)); /* one base register for the lookups (the M4's scores: 1.5% fewer instructions) */
#endif
    for (j = 0u; j < m; j++) {
        acc[j] = 0;
    }
    for (k = 0u, i = 0u; k < words; k++, i += 32u) {
        const uint32_t *row = w + o0 * words + k;
        const uint32_t count = n - i < 32u ? n - i : 32u;
        sbn_q_tables(t, q + i, count);
        if (count == 32u) {
            for (j = 0u; j < m; j++, row += words) {
                acc[j] += (sbn_acc_t)sbn_q_word(t, *row);
            }
        } else {
            for (j = 0u; j < m; j++, row += words) {
                acc[j] += sbn_q_row(t, row, (count + 3u) >> 2);
            }
        }
    }
}

#endif /* SBN_Q_H */
