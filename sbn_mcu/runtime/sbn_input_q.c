/* The first layer's input when the raw values are not plain bytes: each raw
 * value r of channel c becomes the integer q = a[c] * r + b[c], the training
 * normalisation times its scale, stored in the model's order (channels
 * first). Raw values are uint8, int8 or int16, channels first or
 * interleaved (channels last, as camera frames arrive). */
#ifndef SBN_INPUT_Q_C
#define SBN_INPUT_Q_C

#include "sbn_input.h"
#include "sbn_kernels.h"

static inline int32_t sbn_raw(const void *in, uint32_t type, uint32_t i)
{
    if (type == (uint32_t)SBN_INPUT_I16) {
        return ((const int16_t *)in)[i];
    }
    if (type == (uint32_t)SBN_INPUT_I8) {
        return ((const int8_t *)in)[i];
    }
    return ((const uint8_t *)in)[i];
}

SBN_API void sbn_input_q(const void *in, const sbn_input *g, const int32_t *a, const int32_t *b, int32_t *q)
{
    uint32_t c, p;
    for (c = 0u; c < g->channels; c++) {
        for (p = 0u; p < g->positions; p++) {
            const uint32_t i = g->channels_last ? p * g->channels + c : c * g->positions + p;
            q[c * g->positions + p] = a[c] * sbn_raw(in, g->type, i) + b[c];
        }
    }
}

#endif /* SBN_INPUT_Q_C */
