/* The score layer on the normalised integer input q (see sbn_q.h): the int32
 * class scores sum(w * q), without a threshold. */
#ifndef SBN_DENSE_Q_SCORES_C
#define SBN_DENSE_Q_SCORES_C

#include "sbn_q.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_q_scores(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                                int32_t *scores)
{
    sbn_acc_t acc[SBN_Q_BLOCK];
    uint32_t o0, j;
    for (o0 = 0u; o0 < outputs; o0 += SBN_Q_BLOCK) {
        const uint32_t m = outputs - o0 < SBN_Q_BLOCK ? outputs - o0 : SBN_Q_BLOCK;
        sbn_q_block(q, w, n, o0, m, acc);
        for (j = 0u; j < m; j++) {
            scores[o0 + j] = (int32_t)acc[j];
        }
    }
}

#endif /* SBN_DENSE_Q_SCORES_C */
