/*
 * Text output and exit for bare-metal firmware.
 *
 * Two back ends implement sbn_putc, sbn_flush and sbn_exit: semihost.c
 * (`bkpt 0xAB`, for QEMU and debuggers: no UART driver per machine) and, in
 * board projects, board/console.c (the board's UART). print.c formats on top
 * of either, without printf or libc.
 */
#ifndef SBN_CONSOLE_H
#define SBN_CONSOLE_H

#include <stdint.h>

/* Exit statuses the firmware uses; the host reads them from QEMU's own. */
#define SBN_EXIT_OK 0
#define SBN_EXIT_MISMATCH 1
#define SBN_EXIT_FAULT 2
#define SBN_EXIT_ERROR 3

void sbn_putc(char c);          /* back end: one character */
void sbn_flush(void);           /* back end: write out a partial line */
/* Back end: flush, then end the program with `status` (QEMU's exit code). */
void sbn_exit(int status) __attribute__((noreturn));

void sbn_puts(const char *s);   /* print.c: a string */
void sbn_put_u32(uint32_t v);   /* decimal */
void sbn_put_i32(int32_t v);    /* decimal, with '-' */
void sbn_put_hex(uint32_t v);   /* 0x%08x */

#endif
