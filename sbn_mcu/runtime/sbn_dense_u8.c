/* Fully connected layer on raw uint8 input, thresholded (see sbn_xor_bytesum.h). */
#ifndef SBN_DENSE_U8_C
#define SBN_DENSE_U8_C

#include "sbn_xor_bytesum.h"
#include "sbn_kernels.h"

SBN_API void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                         const sbn_acc_t *thr, uint32_t *bits)
{
    uint32_t words = (n + 31u) >> 5, o, word = 0u;
    for (o = 0u; o < outputs; o++, w += words) {
        const sbn_acc_t sum = (sbn_acc_t)sbn_xor_bytesum(in, w, n);
        const sbn_acc_t acc = (sbn_acc_t)255 * (sbn_acc_t)n - sum - sum; /* never 2 * sum: it could overflow */
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(acc >= thr[o]));
    }
}

#endif /* SBN_DENSE_U8_C */
