/* Fully connected layer on the normalised integer input q (see sbn_q.h),
 * thresholded; sbn_dense_q_scores.c is the score layer. Outputs go in
 * blocks of SBN_Q_BLOCK, one word of output bits each. */
#ifndef SBN_DENSE_Q_C
#define SBN_DENSE_Q_C

#include "sbn_q.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_q(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                        const sbn_acc_t *thr, uint32_t *bits)
{
    sbn_acc_t acc[SBN_Q_BLOCK];
    uint32_t o0, j;
    for (o0 = 0u; o0 < outputs; o0 += SBN_Q_BLOCK) {
        const uint32_t m = outputs - o0 < SBN_Q_BLOCK ? outputs - o0 : SBN_Q_BLOCK;
        uint32_t word = 0u;
        sbn_q_block(q, w, n, o0, m, acc);
        for (j = 0u; j < m; j++) {
            word |= (uint32_t)(acc[j] >= thr[o0 + j]) << j;
        }
        bits[o0 >> 5] = word;
    }
}

#endif /* SBN_DENSE_Q_C */
