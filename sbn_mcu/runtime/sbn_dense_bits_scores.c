/* The score layer on packed binary input: the int32 class scores
 * acc = n - 2 * popcount(x ^ w), without a threshold. */
#ifndef SBN_DENSE_BITS_SCORES_C
#define SBN_DENSE_BITS_SCORES_C

#include "sbn_bits.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_bits_scores(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                                   uint32_t outputs, int32_t *scores)
{
    uint32_t o;
    for (o = 0u; o < outputs; o++, w += words) {
        const int32_t mismatches = (int32_t)sbn_mismatches(in, w, words);
        scores[o] = (int32_t)n - mismatches - mismatches;
    }
}

#endif /* SBN_DENSE_BITS_SCORES_C */
