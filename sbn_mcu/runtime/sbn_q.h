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

/* sum(w * q) over n inputs, given their total */
static inline sbn_acc_t sbn_q_dot(const int32_t *q, const uint32_t *w, uint32_t n, sbn_acc_t total)
{
    sbn_acc_t plus = 0;
    uint32_t i = 0u, bits = 0u;
    for (; i < n; i++, bits >>= 1) {
        if ((i & 31u) == 0u) {
            bits = w[i >> 5];
        }
        if (bits & 1u) {
            plus += (sbn_acc_t)q[i];
        }
    }
    return plus - (total - plus);
}

#endif /* SBN_Q_H */
