/*
 * Golden-vector harness: runs a generated model on the vectors in golden.h,
 * reports every score that differs, then measures instructions per inference.
 *
 * golden.h is written per build by sbn_mcu.verify.golden.run_golden. It defines
 * SBN_INFER, SBN_INPUT_SIZE, SBN_NUM_CLASSES, SBN_GOLDEN_COUNT and the arrays
 * sbn_golden_inputs, sbn_golden_scores and sbn_golden_classes.
 *
 * Output, one item per line, parsed by the host:
 *   vector <i> ok
 *   vector <i> FAIL score[<j>]=<got> expected <want> ... argmax=<got> expected <want>
 *   calib_instructions N / calib_ticks N / overhead_ticks N / work_ticks N /
 *   repeats N / stack_bytes N
 *   with SBN_LAYER_HOOK defined (per-layer profiling), also:
 *   hook_calls N / hook_ticks N / layer <i> ticks N (one line per layer) / layers N
 *   done mismatches M
 * The exit status is 0 iff M == 0.
 *
 * Timing: QEMU with `-icount shift=0` retires one instruction per virtual
 * nanosecond, and SysTick (CLKSOURCE = processor clock) counts virtual time
 * at a rate that depends on the machine. A loop of known length, written in
 * assembly so that its instruction count does not depend on the compiler,
 * gives instructions per tick; the host does the division.
 *
 * Per-layer profiling: built with -DSBN_LAYER_HOOK=sbn_golden_layer_done,
 * the model calls that function after each layer. It adds the ticks since
 * the previous reading to the layer, over the same timed repeats as the
 * total, so each layer's ticks are summed over thousands of readings and
 * the 24-bit SysTick wrap is handled by sbn_ticks_now(). The hook's own cost,
 * paid once per layer, is timed apart (hook_calls / hook_ticks) for the
 * host to subtract.
 */
#include <stddef.h>
#include <stdint.h>

#include "golden.h"
#include "console.h"
#include "ticks.h"

/* Lowest-level knobs, all overridable with -D at build time. */
#ifndef SBN_TARGET_TICKS
/* The timed work lasts at least this many ticks, so that the +-1 tick
 * resolution of each reading is below 0.01%. */
#define SBN_TARGET_TICKS 20000u
#endif
#ifndef SBN_CALIB_LOOPS
/* Two instructions each: 1M instructions, 25000 ticks at 25 MHz. */
#define SBN_CALIB_LOOPS 500000u
#endif
#ifndef SBN_STACK_PAINT_BYTES
/* How far below the caller's frame the stack use of one inference is looked for. */
#define SBN_STACK_PAINT_BYTES 0x40000u
#endif
/* SBN_REPEAT, if defined, fixes the number of timed inferences. */

#define STACK_PAINT 0x5AB1C0DEu
/* Written into the score buffer before each call, to catch unwritten scores. */
#define SCORE_POISON ((int32_t)0x5A5A5A5A)

extern uint32_t __bss_end; /* ld/common.ld: first free word above .bss */

static int32_t scores[SBN_NUM_CLASSES];

/* Exactly 2 * loops instructions (subs + bne per pass; the last bne falls through). */
static __attribute__((noinline)) uint32_t time_calibration(uint32_t loops)
{
    uint32_t t0 = sbn_ticks_now();
    __asm__ volatile(
        ".syntax unified\n"
        "1: subs %0, %0, #1\n\t"
        "bne 1b"
        : "+l"(loops)
        :
        : "cc");
    return sbn_ticks_now() - t0;
}

/* The timed loops: identical except for the call, so their difference is
 * what the caller pays per inference, call and return included. */
static __attribute__((noinline)) uint32_t time_overhead(uint32_t repeat)
{
    uint32_t idx = 0u;
    uint32_t r;
    uint32_t t0 = sbn_ticks_now();
    for (r = 0u; r < repeat; r++) {
        const SBN_INPUT_T *input = sbn_golden_inputs[idx];
        __asm__ volatile("" : : "r"(input), "r"(scores) : "memory");
        idx = (idx + 1u == SBN_GOLDEN_COUNT) ? 0u : idx + 1u;
    }
    return sbn_ticks_now() - t0;
}

static __attribute__((noinline)) uint32_t time_work(uint32_t repeat)
{
    uint32_t idx = 0u;
    uint32_t r;
    uint32_t t0 = sbn_ticks_now();
    for (r = 0u; r < repeat; r++) {
        const SBN_INPUT_T *input = sbn_golden_inputs[idx];
        (void)SBN_INFER(input, scores);
        idx = (idx + 1u == SBN_GOLDEN_COUNT) ? 0u : idx + 1u;
    }
    return sbn_ticks_now() - t0;
}

#ifdef SBN_LAYER_HOOK
#define SBN_MAX_LAYERS 64u
static uint32_t layer_ticks[SBN_MAX_LAYERS];
static uint32_t layer_last; /* the previous reading */
static uint32_t layers_seen; /* highest layer index + 1; SBN_MAX_LAYERS + 1 if one was out of range */

/* noipa: every call, the model's and time_hook's, runs this same code. */
void SBN_LAYER_HOOK(uint32_t layer);
__attribute__((noipa)) void SBN_LAYER_HOOK(uint32_t layer)
{
    const uint32_t now = sbn_ticks_now();
    if (layer < SBN_MAX_LAYERS) {
        layer_ticks[layer] += now - layer_last;
        layers_seen = layer + 1u > layers_seen ? layer + 1u : layers_seen;
    } else {
        layers_seen = SBN_MAX_LAYERS + 1u;
    }
    layer_last = now;
}

/* Eight hook calls per pass, so that the loop adds little to each. */
static __attribute__((noinline)) uint32_t time_hook(uint32_t passes)
{
    uint32_t r;
    uint32_t t0 = sbn_ticks_now();
    layer_last = t0;
    for (r = 0u; r < passes; r++) {
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
        SBN_LAYER_HOOK(0u);
    }
    return sbn_ticks_now() - t0;
}

/* Layer 0 counts from the reading before the call, so it includes the call. */
static __attribute__((noinline)) void time_layers(uint32_t repeat)
{
    uint32_t idx = 0u;
    uint32_t r;
    for (r = 0u; r < SBN_MAX_LAYERS; r++) {
        layer_ticks[r] = 0u;
    }
    for (r = 0u; r < repeat; r++) {
        const SBN_INPUT_T *input = sbn_golden_inputs[idx];
        layer_last = sbn_ticks_now();
        (void)SBN_INFER(input, scores);
        idx = (idx + 1u == SBN_GOLDEN_COUNT) ? 0u : idx + 1u;
    }
}
#endif

/* Stack bytes one inference uses below its caller's frame: paint the free
 * RAM below the stack pointer, infer, and find the lowest word overwritten. */
static __attribute__((noinline)) uint32_t stack_bytes_of_inference(void)
{
    uintptr_t sp;
    uintptr_t floor = (uintptr_t)&__bss_end;
    volatile uint32_t *p;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    if (sp - floor > SBN_STACK_PAINT_BYTES) {
        floor = sp - SBN_STACK_PAINT_BYTES;
    }
    for (p = (volatile uint32_t *)floor; (uintptr_t)p < sp; p++) {
        *p = STACK_PAINT;
    }
    (void)SBN_INFER(sbn_golden_inputs[0], scores);
    for (p = (volatile uint32_t *)floor; (uintptr_t)p < sp && *p == STACK_PAINT; p++) {
    }
    return (uint32_t)(sp - (uintptr_t)p);
}

static int check_vector(uint32_t i)
{
    uint32_t j;
    int32_t got_class;
    int ok = 1;
    for (j = 0u; j < SBN_NUM_CLASSES; j++) {
        scores[j] = SCORE_POISON;
    }
    got_class = SBN_INFER(sbn_golden_inputs[i], scores);
    sbn_puts("vector ");
    sbn_put_u32(i);
    for (j = 0u; j < SBN_NUM_CLASSES; j++) {
        if (scores[j] != sbn_golden_scores[i][j]) {
            if (ok) {
                sbn_puts(" FAIL");
                ok = 0;
            }
            sbn_puts(" score[");
            sbn_put_u32(j);
            sbn_puts("]=");
            sbn_put_i32(scores[j]);
            sbn_puts(" expected ");
            sbn_put_i32(sbn_golden_scores[i][j]);
        }
    }
    if (got_class != sbn_golden_classes[i]) {
        if (ok) {
            sbn_puts(" FAIL");
            ok = 0;
        }
        sbn_puts(" argmax=");
        sbn_put_i32(got_class);
        sbn_puts(" expected ");
        sbn_put_i32(sbn_golden_classes[i]);
    }
    sbn_puts(ok ? " ok\n" : "\n");
    return ok;
}

static void put_field(const char *name, uint32_t value)
{
    sbn_puts(name);
    sbn_puts(" ");
    sbn_put_u32(value);
    sbn_puts("\n");
}

int main(void)
{
    uint32_t mismatches = 0u;
    uint32_t i;
    uint32_t calib_ticks;
    uint32_t repeat;

    /* Started first, so that its first reload happens before any timing. */
    sbn_ticks_start();

    for (i = 0u; i < SBN_GOLDEN_COUNT; i++) {
        if (!check_vector(i)) {
            mismatches++;
        }
    }

    calib_ticks = time_calibration(SBN_CALIB_LOOPS);
    put_field("calib_instructions", 2u * SBN_CALIB_LOOPS);
    put_field("calib_ticks", calib_ticks);
    if (calib_ticks == 0u) {
        sbn_puts("error SysTick does not count on this machine\n");
        return SBN_EXIT_ERROR;
    }

#ifdef SBN_REPEAT
    repeat = SBN_REPEAT;
#else
    {
        /* Time one pass over the vectors, then double the passes until the
         * work lasts SBN_TARGET_TICKS. Whole passes, so that every vector
         * weighs the same in the mean. Doubling needs no division, which
         * the Cortex-M0 lacks; the product cannot overflow because it
         * stays below 2 * SBN_TARGET_TICKS until the loop ends. */
        uint32_t probe = time_work(SBN_GOLDEN_COUNT);
        uint32_t passes = 1u;
        while (probe * passes < SBN_TARGET_TICKS && passes < (1u << 20)) {
            passes <<= 1;
        }
        repeat = passes * SBN_GOLDEN_COUNT;
    }
#endif
    put_field("overhead_ticks", time_overhead(repeat));
    put_field("work_ticks", time_work(repeat));
    put_field("repeats", repeat);
    put_field("stack_bytes", stack_bytes_of_inference());
#ifdef SBN_LAYER_HOOK
    {
        const uint32_t passes = 2048u; /* 16384 calls: tens of thousands of ticks */
        put_field("hook_calls", 8u * passes);
        put_field("hook_ticks", time_hook(passes));
        time_layers(repeat);
        if (layers_seen > SBN_MAX_LAYERS) {
            sbn_puts("error the model has more layers than SBN_MAX_LAYERS\n");
            return SBN_EXIT_ERROR;
        }
        for (i = 0u; i < layers_seen; i++) {
            sbn_puts("layer ");
            sbn_put_u32(i);
            put_field(" ticks", layer_ticks[i]);
        }
        put_field("layers", layers_seen);
    }
#endif

    put_field("done mismatches", mismatches);
    return mismatches == 0u ? SBN_EXIT_OK : SBN_EXIT_MISMATCH;
}
