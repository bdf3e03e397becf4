/* The score layer on the normalised integer input q (see sbn_q.h): the int32
 * class scores sum(w * q), without a threshold. */
#ifndef SBN_DENSE_Q_SCORES_C
#define SBN_DENSE_Q_SCORES_C

#include "sbn_q.h"
#include "sbn_kernels.h"

/* Scratch words for one call: as sbn_dense_q's (SBN_DENSE_Q_SCRATCH_WORDS), the tables of one word of
 * inputs, then the sums of one block. */
#define SBN_DENSE_Q_SCORES_SCRATCH_WORDS(inputs, block, acc_words) \
    (((inputs) + 3u) / 4u * 16u + (block) * (acc_words))

/* Out of line, as sbn_dense_q. */
SBN_API SBN_NOINLINE void sbn_dense_q_scores(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                                             int32_t *scores, uint32_t *scratch)
{
    int32_t *const tables = (int32_t *)scratch; /* the signed view of the words: C lets them alias */
    sbn_acc_t *const acc = (sbn_acc_t *)(void *)(scratch + sbn_q_table_words(n));
    uint32_t o0, j;
    for (o0 = 0u; o0 < outputs; o0 += SBN_Q_BLOCK) {
        const uint32_t m = outputs - o0 < SBN_Q_BLOCK ? outputs - o0 : SBN_Q_BLOCK;
        sbn_q_block(q, w, n, o0, m, tables, acc);
        for (j = 0u; j < m; j++) {
            scores[o0 + j] = (int32_t)acc[j];
        }
    }
}

#endif /* SBN_DENSE_Q_SCORES_C */
