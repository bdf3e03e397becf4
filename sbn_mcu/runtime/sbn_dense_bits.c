/* Fully connected layer on packed binary input: acc = n - 2 * popcount(x ^ w),
 * thresholded; sbn_dense_bits_scores.c is the score layer. */
#ifndef SBN_DENSE_BITS_C
#define SBN_DENSE_BITS_C

#include "sbn_bits.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_bits(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                           uint32_t outputs, const sbn_acc_t *thr, uint32_t *bits)
{
    uint32_t o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        const sbn_acc_t mismatches = (sbn_acc_t)sbn_mismatches(in, w, words);
        const sbn_acc_t acc = (sbn_acc_t)n - mismatches - mismatches; /* never 2 * m: it could overflow */
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(acc >= thr[o]));
    }
}

#endif /* SBN_DENSE_BITS_C */
