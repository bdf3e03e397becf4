/*
 * The serial protocol between a host and the board firmware (main.c): the
 * constants of docs/protocol.md, which describes the frames for both sides;
 * sbn_mcu/verify/protocol.py is the host's half.
 */
#ifndef SBN_PROTOCOL_H
#define SBN_PROTOCOL_H

#include <stdint.h>

#define SBN_SYNC 0xA5u

/* Host -> board. */
#define SBN_MSG_INFO 0x01u  /* empty payload */
#define SBN_MSG_INFER 0x02u /* payload: the INPUT_SIZE input bytes */

/* Board -> host. */
/* u16 input_size, u16 num_classes, u32 model_id, u32 clock_hz,
 * u8 cycle counter (0 DWT CYCCNT, 1 SysTick), board name (the rest). */
#define SBN_MSG_INFO_REPLY 0x81u
/* i32 class, u32 cycles, i32 scores[num_classes]. */
#define SBN_MSG_RESULT 0x82u
/* u8 error code, u8 the frame type it answers (0 if unknown). */
#define SBN_MSG_ERROR 0xEEu

#define SBN_ERR_CHECKSUM 1u /* the CRC did not match */
#define SBN_ERR_LENGTH 2u   /* the length is not the one this type has */
#define SBN_ERR_TIMEOUT 3u  /* the frame stopped arriving part way */
#define SBN_ERR_TYPE 4u     /* no such frame type */

#endif
