/* Binary convolution with fused threshold, packing and max pooling.
 * acc = n - 2 * mismatches over the valid taps, n = valid taps * in_c.
 * Max pooling over ±1 values is an OR of the bits. */
static void sbn_conv_bits(const uint32_t *in, const uint32_t *w, const sbn_conv *g,
                          const int32_t *thr, uint32_t *out)
{
    const uint32_t in_words = (g->in_c + 31u) >> 5, out_words = (g->out_c + 31u) >> 5;
    const uint32_t row_words = g->k * g->k * in_words;
    uint32_t py, px, dy, dx, o, ky, i;
    for (py = 0u; py < g->out_h; py++) {
        for (px = 0u; px < g->out_w; px++) {
            uint32_t *dst = out + (py * g->out_w + px) * out_words;
            for (i = 0u; i < out_words; i++) {
                dst[i] = 0u;
            }
            for (dy = 0u; dy < g->pool; dy++) {
                for (dx = 0u; dx < g->pool; dx++) {
                    sbn_window v = sbn_window_at(g, py * g->pool_stride + dy, px * g->pool_stride + dx);
                    int32_t n = (int32_t)((v.ky1 - v.ky0) * (v.kx1 - v.kx0) * g->in_c);
                    const uint32_t *wo = w;
                    for (o = 0u; o < g->out_c; o++, wo += row_words) {
                        uint32_t mismatches = 0u;
                        for (ky = v.ky0; ky < v.ky1; ky++) {
                            const uint32_t *x = in + ((uint32_t)(v.iy0 + (int32_t)ky) * g->in_w
                                                      + (uint32_t)(v.ix0 + (int32_t)v.kx0)) * in_words;
                            const uint32_t *wk = wo + (ky * g->k + v.kx0) * in_words;
                            mismatches += sbn_mismatches(x, wk, (v.kx1 - v.kx0) * in_words);
                        }
                        sbn_set_bit(dst, o, (uint32_t)(n - 2 * (int32_t)mismatches >= thr[o]));
                    }
                }
            }
        }
    }
}
