/* Convolution on raw uint8 input (C, H, W) with fused threshold, packing and
 * max pooling. Each conv position gathers its patch of q = 2p - 255 once, 0
 * for padding (exactly torch's zero padding); then every output channel is
 * one dot product with its ±1 weights. Patch and weights hold two int16
 * values per word (first in the low half), so SMLAD takes two taps at a time
 * on cores with the DSP extension. */
static inline int32_t sbn_s16(uint32_t half)
{
    return (int32_t)(half & 0xFFFFu) - (int32_t)((half & 0x8000u) << 1);
}

static void sbn_conv_u8(const uint8_t *in, const uint32_t *w, const sbn_conv *g,
                        const int32_t *thr, uint32_t *out, uint32_t *patch, uint32_t pairs)
{
    const uint32_t out_words = (g->out_c + 31u) >> 5;
    uint32_t py, px, dy, dx, o, c, ky, kx, i;
    for (py = 0u; py < g->out_h; py++) {
        for (px = 0u; px < g->out_w; px++) {
            uint32_t *dst = out + (py * g->out_w + px) * out_words;
            for (i = 0u; i < out_words; i++) {
                dst[i] = 0u;
            }
            for (dy = 0u; dy < g->pool; dy++) {
                for (dx = 0u; dx < g->pool; dx++) {
                    int32_t iy = (int32_t)((py * g->pool_stride + dy) * g->stride) - (int32_t)g->pad;
                    int32_t ix = (int32_t)((px * g->pool_stride + dx) * g->stride) - (int32_t)g->pad;
                    const uint32_t *wo = w;
                    uint32_t tap = 0u;
                    for (i = 0u; i < pairs; i++) {
                        patch[i] = 0u;
                    }
                    for (c = 0u; c < g->in_c; c++) {
                        for (ky = 0u; ky < g->k; ky++) {
                            int32_t y = iy + (int32_t)ky;
                            for (kx = 0u; kx < g->k; kx++, tap++) {
                                int32_t x = ix + (int32_t)kx;
                                if (y >= 0 && y < (int32_t)g->in_h && x >= 0 && x < (int32_t)g->in_w) {
                                    uint32_t p = in[(c * g->in_h + (uint32_t)y) * g->in_w + (uint32_t)x];
                                    patch[tap >> 1] |= ((2u * p - 255u) & 0xFFFFu) << ((tap & 1u) << 4);
                                }
                            }
                        }
                    }
                    for (o = 0u; o < g->out_c; o++, wo += pairs) {
                        int32_t acc = 0;
                        for (i = 0u; i < pairs; i++) {
#if SBN_DSP
                            __asm__("smlad %0, %1, %2, %3" : "=r"(acc) : "r"(patch[i]), "r"(wo[i]), "r"(acc));
#else
                            acc += sbn_s16(patch[i]) * sbn_s16(wo[i])
                                 + sbn_s16(patch[i] >> 16) * sbn_s16(wo[i] >> 16);
#endif
                        }
                        sbn_set_bit(dst, o, (uint32_t)(acc >= thr[o]));
                    }
                }
            }
        }
    }
}
