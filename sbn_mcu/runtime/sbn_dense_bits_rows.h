/* The loop of the thresholded binary dense kernels: acc = n - 2 * popcount(x ^ w)
 * per output, compared with its threshold, which is an sbn_acc_t or, where the
 * layer's sums fit 16 bits, an int16_t (sbn_dense_bits_t16.c): half the flash. */
#ifndef SBN_DENSE_BITS_ROWS_H
#define SBN_DENSE_BITS_ROWS_H

#include "sbn_bits.h"

/* Exactly one of thr and thr16 is non-null; each caller passes a constant. */
SBN_INLINE void sbn_dense_bits_rows(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n,
                                    uint32_t outputs, const sbn_acc_t *thr, const int16_t *thr16, uint32_t *bits)
{
    uint32_t o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        const sbn_acc_t mismatches = (sbn_acc_t)sbn_mismatches(in, w, words);
        const sbn_acc_t acc = (sbn_acc_t)n - mismatches - mismatches; /* never 2 * m: it could overflow */
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(acc >= (thr16 ? (sbn_acc_t)thr16[o] : thr[o])));
    }
}

#endif /* SBN_DENSE_BITS_ROWS_H */
