/*
 * Output and exit for bare-metal firmware run in QEMU (or under a debugger).
 *
 * Everything goes through ARM semihosting (`bkpt 0xAB`), so the firmware needs
 * no UART driver per board and no libc: the same code runs on every core.
 * Text is buffered per line, because each semihosting call is a trap into
 * the emulator and a line is the unit the host parses.
 */
#ifndef SBN_SEMIHOST_H
#define SBN_SEMIHOST_H

#include <stdint.h>

/* Exit statuses the firmware uses; the host reads them from QEMU's own. */
#define SBN_EXIT_OK 0
#define SBN_EXIT_MISMATCH 1
#define SBN_EXIT_FAULT 2
#define SBN_EXIT_ERROR 3

void sbn_puts(const char *s);   /* append a string; a '\n' flushes the line */
void sbn_put_u32(uint32_t v);   /* decimal */
void sbn_put_i32(int32_t v);    /* decimal, with '-' */
void sbn_put_hex(uint32_t v);   /* 0x%08x */
void sbn_flush(void);           /* write out a partial line */

/* Flush, then end the program with `status` as QEMU's exit code. */
void sbn_exit(int status) __attribute__((noreturn));

#endif
