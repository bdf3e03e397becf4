/* Fully connected layer on packed binary input: acc = n - 2 * popcount(x ^ w),
 * thresholded; sbn_dense_bits_t16.c takes 16-bit thresholds, and
 * sbn_dense_bits_scores.c is the score layer. */
#ifndef SBN_DENSE_BITS_C
#define SBN_DENSE_BITS_C

#include "sbn_dense_bits_rows.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_bits(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                           uint32_t outputs, const sbn_acc_t *thr, uint32_t *bits)
{
    sbn_dense_bits_rows(in, w, words, n, outputs, thr, NULL, bits);
}

#endif /* SBN_DENSE_BITS_C */
