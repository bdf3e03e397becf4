/* Fully connected layer on the normalised integer input q (see sbn_q.h),
 * thresholded; sbn_dense_q_scores.c is the score layer. */
#ifndef SBN_DENSE_Q_C
#define SBN_DENSE_Q_C

#include "sbn_bits.h"
#include "sbn_q.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_q(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                        const sbn_acc_t *thr, uint32_t *bits)
{
    const uint32_t words = (n + 31u) >> 5;
    const sbn_acc_t total = sbn_q_total(q, n);
    uint32_t o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(sbn_q_dot(q, w, n, total) >= thr[o]));
    }
}

#endif /* SBN_DENSE_Q_C */
