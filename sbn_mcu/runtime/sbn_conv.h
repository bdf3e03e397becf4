/* Geometry of a convolution with its max pooling fused in. A convolution
 * without pooling has pool 1 / stride 1. Binary tensors are stored pixel by
 * pixel (row-major), each pixel holding its channels in (channels + 31) / 32
 * words; raw uint8 input keeps torch's C, H, W order. */
#ifndef SBN_CONV_H
#define SBN_CONV_H

#include "sbn_port.h"

typedef struct {
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, k, stride, pad;
    uint32_t pool, pool_stride, out_h, out_w; /* out_h/out_w after pooling */
} sbn_conv;

#endif /* SBN_CONV_H */
