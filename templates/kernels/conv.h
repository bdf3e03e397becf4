/* Geometry of a convolution with its max pooling fused in. A convolution
 * without pooling has pool 1 / stride 1. Binary tensors are stored pixel by
 * pixel (row-major), each pixel holding its channels in (channels + 31) / 32
 * words; raw uint8 input keeps torch's C, H, W order. */
typedef struct {
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, k, stride, pad;
    uint32_t pool, pool_stride, out_h, out_w; /* out_h/out_w after pooling */
} sbn_conv;

/* Store the output bits of one pooled pixel: the first conv position of the
 * pooling window writes, the others OR (max of ±1 is OR of the bits). */
static inline void sbn_store_bits(uint32_t *dst, uint32_t word, uint32_t first)
{
    *dst = first ? word : (*dst | word);
}
