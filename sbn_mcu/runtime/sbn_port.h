/* The port: which instruction-set path every kernel takes, chosen once.
 *
 *   SBN_DSP   1 on cores with the DSP extension (v7E-M, v8-M Main with DSP):
 *             usada8 sums four byte lanes in one instruction.
 *   SBN_THUMB2 1 on Thumb-2 cores (v7-M, v8-M Main): ldm and shifted
 *             operands in the popcount loops.
 *   portable  plain C99 everywhere else (v6-M, the host).
 *
 * It also fixes the accumulator type: define SBN_WIDE to 1 before this
 * header when a dense layer's sums can pass 32 bits. Kernels are static
 * when pasted into a model (SBN_API); compiled on their own they are not,
 * and sbn_kernels.h declares them. */
#ifndef SBN_PORT_H
#define SBN_PORT_H

#include <stddef.h>
#include <stdint.h>

#ifndef SBN_API
#define SBN_API          /* compiled on their own: the library's kernels, declared in sbn_kernels.h */
#define SBN_PUBLIC 1
#else
#define SBN_PUBLIC 0     /* pasted into a model: its own static kernels */
#endif

#if defined(__GNUC__)
#define SBN_NOINLINE __attribute__((noinline, unused)) /* keeps hot loops' registers free */
#define SBN_INLINE static inline __attribute__((always_inline, unused)) /* a few hot lines, always inlined */
#else
#define SBN_NOINLINE
#define SBN_INLINE static inline
#endif

#if defined(__thumb2__)
#define SBN_THUMB2 1 /* ldm, and shifts folded into ALU operands (sbn_bits.h's inline asm) */
#else
#define SBN_THUMB2 0
#endif

#if defined(__ARM_FEATURE_DSP)
#define SBN_DSP 1
/* acc + sum over the four bytes of |a - b| */
static inline uint32_t sbn_usada8(uint32_t a, uint32_t b, uint32_t acc)
{
    uint32_t r;
    __asm__("usada8 %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
#define SBN_DSP 0
#endif


#if defined(SBN_WIDE) && SBN_WIDE
typedef int64_t sbn_acc_t;
typedef uint64_t sbn_sum_t;
#else
typedef int32_t sbn_acc_t;
typedef uint32_t sbn_sum_t;
#endif

#endif /* SBN_PORT_H */
