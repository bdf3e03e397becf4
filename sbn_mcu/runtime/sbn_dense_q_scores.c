/* The score layer on the normalised integer input q (see sbn_q.h): the int32
 * class scores sum(w * q), without a threshold. */
#ifndef SBN_DENSE_Q_SCORES_C
#define SBN_DENSE_Q_SCORES_C

#include "sbn_q.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_q_scores(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                                int32_t *scores)
{
    const uint32_t words = (n + 31u) >> 5;
    const sbn_acc_t total = sbn_q_total(q, n);
    uint32_t o;
    for (o = 0u; o < outputs; o++, w += words) {
        scores[o] = (int32_t)sbn_q_dot(q, w, n, total);
    }
}

#endif /* SBN_DENSE_Q_SCORES_C */
