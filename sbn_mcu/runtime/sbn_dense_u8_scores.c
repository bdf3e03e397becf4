/* The score layer on raw uint8 input: the int32 class scores
 * acc = 255 * n - 2 * sum(p ^ m) (see sbn_xor_bytesum.h), without a threshold. */
#ifndef SBN_DENSE_U8_SCORES_C
#define SBN_DENSE_U8_SCORES_C

#include "sbn_xor_bytesum.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_u8_scores(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                                 int32_t *scores)
{
    const uint32_t words = (n + 31u) >> 5;
    uint32_t o;
    for (o = 0u; o < outputs; o++, w += words) {
        const int32_t sum = (int32_t)sbn_xor_bytesum(in, w, n);
        scores[o] = (int32_t)(255u * n) - sum - sum;
    }
}

#endif /* SBN_DENSE_U8_SCORES_C */
