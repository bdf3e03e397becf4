/* Geometry of a convolution with its max pooling fused in. A convolution
 * without pooling has pool 1 / stride 1. Binary tensors are stored pixel by
 * pixel (row-major), each pixel holding its channels in (channels + 31) / 32
 * words; raw uint8 input keeps torch's C, H, W order. */
typedef struct {
    uint32_t in_c, in_h, in_w;
    uint32_t out_c, k, stride, pad;
    uint32_t pool, pool_stride, out_h, out_w; /* out_h/out_w after pooling */
} sbn_conv;

/* The kernel rows and columns of conv output (cy, cx) that fall inside the
 * input: padding adds nothing, so only these count. */
typedef struct {
    uint32_t ky0, ky1, kx0, kx1;
    int32_t iy0, ix0;
} sbn_window;

static inline sbn_window sbn_window_at(const sbn_conv *g, uint32_t cy, uint32_t cx)
{
    sbn_window v;
    int32_t iy = (int32_t)(cy * g->stride) - (int32_t)g->pad;
    int32_t ix = (int32_t)(cx * g->stride) - (int32_t)g->pad;
    v.ky0 = iy < 0 ? (uint32_t)-iy : 0u;
    v.kx0 = ix < 0 ? (uint32_t)-ix : 0u;
    v.ky1 = (uint32_t)iy + g->k > g->in_h ? (uint32_t)((int32_t)g->in_h - iy) : g->k;
    v.kx1 = (uint32_t)ix + g->k > g->in_w ? (uint32_t)((int32_t)g->in_w - ix) : g->k;
    v.iy0 = iy;
    v.ix0 = ix;
    return v;
}
