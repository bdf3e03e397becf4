/* Signed sums over the normalised integer input q (int32; see sbn_input_q.c):
 * with ±1 weights as bits (1 = +1), sum(w * q) = P - (T - P), where P sums
 * the q whose weight is +1 and T sums them all. */
#ifndef SBN_Q_H
#define SBN_Q_H

#include "sbn_port.h"

static inline sbn_acc_t sbn_q_total(const int32_t *q, uint32_t n)
{
    sbn_acc_t total = 0;
    uint32_t i;
    for (i = 0u; i < n; i++) {
        total += (sbn_acc_t)q[i];
    }
    return total;
}

/* The masked sum of one q: its weight bit, the top bit of bits, as a mask of
 * 0 or all ones; no branch. */
#define SBN_Q_TAKE(plus, x, bits) \
    do { \
        (plus) += (sbn_acc_t)((x) & -(int32_t)((bits) >> 31)); \
        (bits) <<= 1; \
    } while (0)

/* sum(w * q) over n inputs, given their total. The inputs of a weight word
 * run from its top bit down; whole words take four inputs a step. */
static inline sbn_acc_t sbn_q_dot(const int32_t *q, const uint32_t *w, uint32_t n, sbn_acc_t total)
{
    sbn_acc_t plus = 0;
    uint32_t i, k;
    for (i = 0u; i + 32u <= n; i += 32u, w++) {
        uint32_t bits = *w;
        const int32_t *x = q + i + 32u;
        do {
            x -= 4;
            SBN_Q_TAKE(plus, x[3], bits);
            SBN_Q_TAKE(plus, x[2], bits);
            SBN_Q_TAKE(plus, x[1], bits);
            SBN_Q_TAKE(plus, x[0], bits);
        } while (x != q + i);
    }
    if (i < n) { /* the last n - i inputs, in the low bits of their word */
        uint32_t bits = *w << (32u - (n - i));
        for (k = n - i; k-- > 0u;) {
            SBN_Q_TAKE(plus, q[i + k], bits);
        }
    }
    return plus - (total - plus);
}

#endif /* SBN_Q_H */
