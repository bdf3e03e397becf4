/* The kernels of the sbn-mcu runtime: every public function, its geometry
 * and its constraints, in one header (CMSIS-NN's arm_nnfunctions.h is the
 * model). Each kernel's file defines it and its scratch-size macro.
 *
 * Conventions for all of them:
 *   - Binary values are packed into uint32 words, +1 as bit 1; a tensor of
 *     C channels stores each position (pixel, or the one position of a
 *     vector) in ceil(C / 32) words, bits past C zero (docs/semantics.md).
 *   - Weights are packed the same way, one row of words per output; the
 *     export's plan writes them.
 *   - A thresholded kernel writes bit o as (acc >= thr[o]); a score kernel
 *     writes the int32 sums acc themselves.
 *   - The caller owns every buffer: in, out, weights, thresholds and, where
 *     a kernel needs it, scratch of the words its SCRATCH_WORDS macro gives.
 *     Buffers are 4-byte aligned (uint32_t/int32_t arrays); raw uint8 input
 *     may have any alignment. Kernels keep no state between calls.
 *
 * Pasted into a model's NAME.c, the kernels are static (SBN_API) and this
 * header is left out (runtime.paste); compiled on their own, they are the
 * library's, declared here. */
#ifndef SBN_KERNELS_H
#define SBN_KERNELS_H

#include "sbn_port.h"
#include "sbn_conv.h"
#include "sbn_input.h"

#if SBN_PUBLIC

/* Raw input (channels x positions values of g->type, channels first or, with
 * g->channels_last, interleaved) to q[c * positions + p] = a[c] * r + b[c]
 * (int32, channels first). q holds channels * positions words. */
void sbn_input_q(const void *in, const sbn_input *g, const int32_t *a, const int32_t *b, int32_t *q);

/* Dense layers of n inputs and `outputs` outputs; weight rows of ceil(n / 32) words
 * (dense_bits: `words` words, the producer's layout). bits: ceil(outputs / 32) words. */
void sbn_dense_u8(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs, const sbn_acc_t *thr,
                  uint32_t *bits);
void sbn_dense_u8_scores(const uint8_t *in, const uint32_t *w, uint32_t n, uint32_t outputs, int32_t *scores);
/* The same by subset-sum tables (speed): weight bytes as sbn_dense_u8_sums.c lays them out, thresholds
 * t + 255 W (W: the row's weight sum), scratch of SBN_DENSE_U8_SUMS_SCRATCH_WORDS(chunk, outputs) words. */
void sbn_dense_u8_sums(const uint8_t *in, const uint32_t *weights, uint32_t n, uint32_t outputs, uint32_t chunk,
                       const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch);
/* The same with the weights as byte offsets of their table entries (speed, four times the flash of
 * sbn_dense_u8_sums), laid out as sbn_dense_u8_offsets.c says; scratch of
 * SBN_DENSE_U8_OFFSETS_SCRATCH_WORDS(chunk, outputs) words. */
void sbn_dense_u8_offsets(const uint8_t *in, const uint32_t *offsets, uint32_t n, uint32_t outputs, uint32_t chunk,
                          const sbn_acc_t *thr, uint32_t *bits, uint32_t *scratch);
/* Dense layers on the int32 q of sbn_input_q, by tables of signed subset sums (sbn_q.h); scratch of
 * SBN_DENSE_Q_SCRATCH_WORDS(min(n, 32), min(outputs, 32), sizeof(sbn_acc_t) / 4) words, the same for
 * the scores (SBN_DENSE_Q_SCORES_SCRATCH_WORDS): one word of inputs' tables, then a block's sbn_acc_t sums. */
void sbn_dense_q(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs, const sbn_acc_t *thr,
                 uint32_t *bits, uint32_t *scratch);
void sbn_dense_q_scores(const int32_t *q, const uint32_t *w, uint32_t n, uint32_t outputs, int32_t *scores,
                        uint32_t *scratch);
void sbn_dense_bits(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n, uint32_t outputs,
                    const sbn_acc_t *thr, uint32_t *bits);
/* The same with int16_t thresholds: for n < 32768, where every sum fits them. */
void sbn_dense_bits_t16(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n, uint32_t outputs,
                        const int16_t *thr, uint32_t *bits);
void sbn_dense_bits_scores(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t n, uint32_t outputs,
                           int32_t *scores);
/* The same comparing mismatch counts (speed): bit o is popcount(x ^ w_o) < limits[o], limits
 * floor((n - t) / 2) + 1 clamped to 0 .. n + 1, for n < 32767. */
void sbn_dense_bits_m16(const uint32_t *in, const uint32_t *w, uint32_t words, uint32_t outputs,
                        const int16_t *limits, uint32_t *bits);

/* Convolutions with their max pooling fused in (see sbn_conv.h); out holds
 * out_h * out_w positions of ceil(out_c / 32) words. conv_u8 takes raw uint8
 * C, H, W input and byte-mask weights (ceil(kw / 4) words per channel and
 * kernel row); conv_q takes the int32 q of sbn_input_q; conv_bits packed
 * bits. Scratch: SBN_CONV_*_SCRATCH_WORDS(in_c, kh, kw, pool_h * pool_w) words. */
void sbn_conv_u8(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr, uint32_t *out,
                 uint32_t *scratch);
/* The same for 3x3 kernels over one channel (speed): two mask words per channel, the border cases' offsets
 * into thr, the flip words, each channel's table offsets; thr per case and channel (sbn_conv_u8_3x3.c). Scratch:
 * SBN_CONV_U8_3X3_SCRATCH_WORDS(in_h, in_w, pad_h, pad_w) words. */
void sbn_conv_u8_3x3(const uint8_t *in, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr,
                     uint32_t *out, uint32_t *scratch);
void sbn_conv_q(const int32_t *q, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr, uint32_t *out,
                uint32_t *scratch_words);
void sbn_conv_bits(const uint32_t *in, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr, uint32_t *out,
                   uint32_t *scratch);
/* The same by a 16-bit popcount table (speed, 64 KB of flash): weights in (kx, ky, channel) order, then the
 * border cases' offsets into thr, which holds -(K + 1) per case and channel (sbn_conv_bits_lut.c). Scratch:
 * SBN_CONV_BITS_LUT_SCRATCH_WORDS(in_c, kh, conv_h, in_w + 2 * pad_w, pool_h * pool_w) words. */
void sbn_conv_bits_lut(const uint32_t *in, const uint32_t *w, const sbn_conv *geometry, const int32_t *thr,
                       uint32_t *out, uint32_t *scratch);

#endif /* SBN_PUBLIC */

#endif /* SBN_KERNELS_H */
