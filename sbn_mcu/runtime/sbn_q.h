/* Signed sums over the normalised integer input q (int32; see sbn_input_q.c)
 * with ±1 weights as bits (1 = +1): input j of a row is bit j % 32 of its
 * word j / 32, and bits past the row's inputs are 0.
 *
 * By tables of signed subset sums: each group of four inputs x0..x3 gets the
 * sixteen sums t[m] = sum over k of (bit k of m ? +x_k : -x_k), so that a
 * row's sum(w * q) is one lookup and one add per nibble of its weights,
 * whatever the size of q (|q| < 2^22: an entry fits int32 easily). A
 * missing input (past the end, or a padded tap) is 0 and adds nothing either
 * way. Building a table costs about ten instructions per input; each row
 * that reads it saves about four per input. */
#ifndef SBN_Q_H
#define SBN_Q_H

#include "sbn_port.h"

#define SBN_Q_ENTRIES 16u /* int32 entries per table: one per nibble of weights */
#define SBN_Q_BLOCK 32u   /* outputs a dense kernel sums per pass over its tables */

/* The table of four inputs: all sixteen sums in registers, then stored. */
static inline void sbn_q_table(int32_t *t, int32_t x0, int32_t x1, int32_t x2, int32_t x3)
{
    const int32_t t0 = -(x0 + x1 + x2 + x3), t1 = t0 + 2 * x0, t2 = t0 + 2 * x1, t3 = t1 + 2 * x1;
    const int32_t t4 = t0 + 2 * x2, t5 = t1 + 2 * x2, t6 = t2 + 2 * x2, t7 = t3 + 2 * x2;
    x3 *= 2;
    t[0] = t0;
    t[1] = t1;
    t[2] = t2;
    t[3] = t3;
    t[4] = t4;
    t[5] = t5;
    t[6] = t6;
    t[7] = t7;
    t[8] = t0 + x3;
    t[9] = t1 + x3;
    t[10] = t2 + x3;
    t[11] = t3 + x3;
    t[12] = t4 + x3;
    t[13] = t5 + x3;
    t[14] = t6 + x3;
    t[15] = t7 + x3;
}

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
static inline int32_t sbn_q_word(const int32_t *t, uint32_t bits)
{
    return t[bits & 15u] + t[16u + (bits >> 4 & 15u)] + t[32u + (bits >> 8 & 15u)] + t[48u + (bits >> 12 & 15u)]
        + t[64u + (bits >> 16 & 15u)] + t[80u + (bits >> 20 & 15u)] + t[96u + (bits >> 24 & 15u)]
        + t[112u + (bits >> 28)];
}

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
    }
    return acc + (sbn_acc_t)last;
}

/* sum(w * q) for the rows o0 .. o0 + m - 1 (m <= SBN_Q_BLOCK) of a dense layer over n inputs, into acc:
 * a word of inputs at a time, whose tables every row reads. */
static inline void sbn_q_block(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t o0, uint32_t m,
                               sbn_acc_t *acc)
{
    int32_t tables[8u * SBN_Q_ENTRIES], *t = tables;
    const uint32_t words = (n + 31u) >> 5;
    uint32_t i, j, k;
#if defined(__GNUC__)
    __asm__("" : "+r"(t)); /* a base register for the lookups, not frame offsets out of their reach */
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
