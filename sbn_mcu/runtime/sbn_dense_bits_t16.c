/* sbn_dense_bits with int16_t thresholds, for layers whose sums fit 16 bits
 * (n < 32768): the thresholds take half the flash. */
#ifndef SBN_DENSE_BITS_T16_C
#define SBN_DENSE_BITS_T16_C

#include "sbn_dense_bits_rows.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_bits_t16(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                               uint32_t outputs, const int16_t *thr, uint32_t *bits)
{
    sbn_dense_bits_rows(in, w, words, n, outputs, NULL, thr, bits);
}

#endif /* SBN_DENSE_BITS_T16_C */
