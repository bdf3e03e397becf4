/* Fully connected layer on the normalised integer input q (see sbn_q.h),
 * thresholded; sbn_dense_q_scores.c is the score layer. Outputs go in
 * blocks of SBN_Q_BLOCK, one word of output bits each. */
#ifndef SBN_DENSE_Q_C
#define SBN_DENSE_Q_C

#include "sbn_q.h"
#include "sbn_kernels.h"

/* Scratch words for one call: the tables of one word of inputs, 16 per four of its `inputs` = min(n, 32)
 * (sbn_q_table_words), then the sums of one block of `block` = min(outputs, SBN_Q_BLOCK) outputs,
 * `acc_words` = sizeof(sbn_acc_t) / 4 words each (2 in the 64-bit copy). */
#define SBN_DENSE_Q_SCRATCH_WORDS(inputs, block, acc_words) (((inputs) + 3u) / 4u * 16u + (block) * (acc_words))

/* Out of line: inlined into NAME_infer, the M0 spilled the tables' build (11% more instructions). */
SBN_API SBN_NOINLINE void sbn_dense_q(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs,
                                      const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch)
{
    int32_t *const tables = (int32_t *)scratch; /* the signed view of the words: C lets them alias */
    sbn_acc_t *const acc = (sbn_acc_t *)(void *)(scratch + sbn_q_table_words(n));
    uint32_t o0, j;
    for (o0 = 0u; o0 < outputs; o0 += SBN_Q_BLOCK) {
        const uint32_t m = outputs - o0 < SBN_Q_BLOCK ? outputs - o0 : SBN_Q_BLOCK;
        uint32_t word = 0u;
        sbn_q_block(q, w, n, o0, m, tables, acc);
        for (j = 0u; j < m; j++) {
            word |= (uint32_t)(acc[j] >= thr[o0 + j]) << j;
        }
        bits[o0 >> 5] = word;
    }
}

#endif /* SBN_DENSE_Q_C */
