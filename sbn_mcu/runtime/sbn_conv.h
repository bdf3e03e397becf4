/* Geometry of a convolution with its max pooling fused in: kernels, strides,
 * padding and pools per axis, so kernels may be rectangular. A 1-D
 * convolution is one with in_h = kh = 1. A convolution without pooling has
 * pool 1 / stride 1. Binary tensors are stored pixel by pixel (row-major),
 * each pixel holding its channels in (channels + 31) / 32 words; raw input
 * keeps torch's C, H, W order. */
#ifndef SBN_CONV_H
#define SBN_CONV_H

#include "sbn_port.h"

typedef struct {
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, kh, kw, stride_h, stride_w, pad_h, pad_w;
    uint32_t pool_h, pool_w, pool_stride_h, pool_stride_w, out_h, out_w; /* out_h/out_w after pooling */
} sbn_conv;

#endif /* SBN_CONV_H */
