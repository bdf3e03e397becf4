/*
 * The semihosting back end of console.h: output and exit through
 * `bkpt 0xAB`. Text is buffered per line, because each semihosting call is a
 * trap into the emulator and a line is the unit the host parses.
 */
#include <stddef.h>
#include <stdint.h>

#include "console.h"

/* Semihosting operation numbers (ARM "Semihosting for AArch32 and AArch64"). */
#define SYS_WRITE0 0x04u
#define SYS_EXIT 0x18u
#define SYS_EXIT_EXTENDED 0x20u
/* Reason codes for SYS_EXIT. */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* `bkpt 0xAB` with the operation in r0 and its argument in r1 (M-profile). */
static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* One output line; a longer line goes out in pieces with no '\n' added. */
static char line_buf[96];
static size_t line_len;

void sbn_flush(void)
{
    if (line_len == 0u) {
        return;
    }
    line_buf[line_len] = '\0';
    (void)semihost_call(SYS_WRITE0, line_buf);
    line_len = 0u;
}

void sbn_putc(char c)
{
    line_buf[line_len++] = c;
    if (c == '\n' || line_len == sizeof line_buf - 1u) {
        sbn_flush();
    }
}

void sbn_exit(int status)
{
    /*
     * SYS_EXIT_EXTENDED takes a parameter block {reason, status}; QEMU 7.2
     * passes the status on as its own exit code on every M-profile core.
     * Plain SYS_EXIT on AArch32 takes the reason in r1 and can only say
     * "success" (exit code 0) or anything else (exit code 1): it is the
     * fallback for hosts that do not implement the extended call.
     */
    uint32_t block[2];
    sbn_flush();
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)status;
    (void)semihost_call(SYS_EXIT_EXTENDED, block);
    (void)semihost_call(SYS_EXIT, (const void *)(uintptr_t)(
        status == 0 ? ADP_STOPPED_APPLICATION_EXIT
                    : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
        /* No host answered: stop here, the runner's timeout reports it. */
    }
}
