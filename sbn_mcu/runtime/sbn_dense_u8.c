/* Fully connected layer on raw uint8 input, thresholded (see sbn_xor_bytesum.h):
 * acc = 255 * n - 2 * sum(p ^ m). Cores with the DSP extension take two
 * weight rows per pass over the pixels with the byte-indexed mask table of
 * sbn_mask8.h; the others sum each row with sbn_xor_bytesum. */
#ifndef SBN_DENSE_U8_C
#define SBN_DENSE_U8_C

#include "sbn_xor_bytesum.h"
#include "sbn_mask8.h"
#include "sbn_kernels.h"

#if SBN_DSP
/* sum(p ^ m) of rows wa and wb (words weight words each) over n pixels:
 * groups of eight pixels in chunks whose 32-bit sums cannot wrap, then the
 * last n % 8 pixels one by one. */
static void sbn_xor_bytesum_pair(const uint8_t *p, const uint32_t *wa, const uint32_t *wb, uint32_t n,
                                 sbn_sum_t *sums)
{
    const uint32_t groups = n >> 3;
    uint32_t g = 0u, i, part[2];
    sums[0] = 0u;
    sums[1] = 0u;
    while (g < groups) {
        const uint32_t chunk = groups - g > 0x200000u ? 0x200000u : groups - g; /* 255 * 2^24 < 2^32 */
        part[0] = 0u;
        part[1] = 0u;
        sbn_mask8_pair(p + 8u * g, (const uint8_t *)wa + g, (const uint8_t *)wb + g, chunk, part);
        sums[0] += part[0];
        sums[1] += part[1];
        g += chunk;
    }
    for (i = groups << 3; i < n; i++) {
        sums[0] += (wa[i >> 5] >> (i & 31u) & 1u) ? 255u - p[i] : p[i];
        sums[1] += (wb[i >> 5] >> (i & 31u) & 1u) ? 255u - p[i] : p[i];
    }
}
#endif

SBN_API void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs,
                         const sbn_acc_t *thr, uint32_t *bits)
{
    const uint32_t words = (n + 31u) >> 5;
    const sbn_acc_t full = (sbn_acc_t)255 * (sbn_acc_t)n;
    uint32_t o, word = 0u;
#if SBN_DSP
    sbn_sum_t sums[2];
    for (o = 0u; o < outputs; o += 2u, w += 2u * words) {
        /* an odd last row is summed twice, as both rows of its pass */
        const uint32_t second = o + 1u < outputs ? words : 0u;
        sbn_xor_bytesum_pair(in, w, w + second, n, sums);
        word = sbn_put_bit(bits, o, outputs, word,
                           (uint32_t)(full - (sbn_acc_t)sums[0] - (sbn_acc_t)sums[0] >= thr[o]));
        if (second) {
            word = sbn_put_bit(bits, o + 1u, outputs, word,
                               (uint32_t)(full - (sbn_acc_t)sums[1] - (sbn_acc_t)sums[1] >= thr[o + 1u]));
        }
    }
#else
    for (o = 0u; o < outputs; o++, w += words) {
        const sbn_acc_t sum = (sbn_acc_t)sbn_xor_bytesum(in, w, n);
        const sbn_acc_t acc = full - sum - sum; /* never 2 * sum: it could overflow */
        word = sbn_put_bit(bits, o, outputs, word, (uint32_t)(acc >= thr[o]));
    }
#endif
}

#endif /* SBN_DENSE_U8_C */
