/*
 * Board firmware: answers frames from the host (protocol.h) for ever.
 *
 *   INFO  -> INFO_REPLY: input size, classes, model id, clock, board name
 *   INFER -> RESULT: class, cycles of the inference, every score
 *   a bad frame -> ERROR with the reason, then back to waiting
 *
 * Nothing here blocks for ever except waiting for the first byte of a frame:
 * a frame that stops part way is answered with SBN_ERR_TIMEOUT.
 */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "protocol.h"
#include "ticks.h"
#include "uart.h"

/* The longest payload the board answers with (RESULT), and takes (INFER). */
#define RESULT_BYTES (8u + 4u * SBN_NUM_CLASSES)

static SBN_INPUT_T input[SBN_INPUT_SIZE];
static uint8_t *const input_bytes = (uint8_t *)input; /* little-endian values, as they arrive */
static int32_t scores[SBN_NUM_CLASSES];
static uint8_t reply[RESULT_BYTES > 13u + sizeof SBN_BOARD_NAME ? RESULT_BYTES : 13u + sizeof SBN_BOARD_NAME];

/* ---- cycle counter ---------------------------------------------------- */

#if defined(SBN_CYCLES_DWT)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

static void cycles_start(void)
{
    DEMCR |= 1u << 24; /* TRCENA: power the DWT */
#if defined(SBN_DWT_UNLOCK)
    DWT_LAR = 0xC5ACCE55u; /* Cortex-M7: the DWT is locked at reset */
#endif
    DWT_CYCCNT = 0u;
    DWT_CTRL |= 1u; /* CYCCNTENA */
}

static uint32_t cycles_now(void)
{
    return DWT_CYCCNT;
}
#else
static void cycles_start(void)
{
    sbn_ticks_start();
}

static uint32_t cycles_now(void)
{
    return sbn_ticks_now();
}
#endif

/* ---- framing ---------------------------------------------------------- */

/* CRC-16/CCITT-FALSE, one byte at a time: no table, a few hundred cycles per frame. */
static uint16_t crc16(uint16_t crc, uint8_t byte)
{
    int bit;
    crc ^= (uint16_t)(byte << 8);
    for (bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

static void put_u32(uint8_t *at, uint32_t v)
{
    at[0] = (uint8_t)v;
    at[1] = (uint8_t)(v >> 8);
    at[2] = (uint8_t)(v >> 16);
    at[3] = (uint8_t)(v >> 24);
}

static void send_byte(uint8_t byte, uint16_t *crc)
{
    sbn_uart_write(byte);
    *crc = crc16(*crc, byte);
}

static void send_frame(uint8_t type, const uint8_t *payload, uint16_t length)
{
    uint16_t crc = 0xFFFFu;
    uint16_t i;
    sbn_uart_write(SBN_SYNC);
    send_byte(type, &crc);
    send_byte((uint8_t)length, &crc);
    send_byte((uint8_t)(length >> 8), &crc);
    for (i = 0u; i < length; i++) {
        send_byte(payload[i], &crc);
    }
    sbn_uart_write((uint8_t)crc);
    sbn_uart_write((uint8_t)(crc >> 8));
}

static void send_error(uint8_t code, uint8_t type)
{
    uint8_t payload[2];
    payload[0] = code;
    payload[1] = type;
    send_frame(SBN_MSG_ERROR, payload, 2u);
}

/* Throw away what is still arriving, so that the rest of a bad frame is not
 * taken for the start of the next one. */
static void drain(void)
{
    while (sbn_uart_read(SBN_READ_TIMEOUT_SPINS) >= 0) {
    }
}

/* ---- requests --------------------------------------------------------- */

static void answer_info(void)
{
    static const char name[] = SBN_BOARD_NAME;
    size_t i;
    reply[0] = (uint8_t)SBN_INPUT_SIZE;
    reply[1] = (uint8_t)(SBN_INPUT_SIZE >> 8);
    reply[2] = (uint8_t)SBN_NUM_CLASSES;
    reply[3] = (uint8_t)(SBN_NUM_CLASSES >> 8);
    put_u32(reply + 4, SBN_MODEL_ID);
    put_u32(reply + 8, SBN_CLOCK_HZ);
#if defined(SBN_CYCLES_DWT)
    reply[12] = 0u;
#else
    reply[12] = 1u;
#endif
    for (i = 0u; i + 1u < sizeof name; i++) {
        reply[13u + i] = (uint8_t)name[i];
    }
    send_frame(SBN_MSG_INFO_REPLY, reply, (uint16_t)(13u + sizeof name - 1u));
}

static void sbn_answer_infer(void)
{
    uint32_t start;
    uint32_t cycles;
    int32_t predicted;
    uint32_t i;
    start = cycles_now();
    predicted = SBN_INFER(input, scores);
    cycles = cycles_now() - start;
    put_u32(reply, (uint32_t)predicted);
    put_u32(reply + 4, cycles);
    for (i = 0u; i < SBN_NUM_CLASSES; i++) {
        put_u32(reply + 8u + 4u * i, (uint32_t)scores[i]);
    }
    send_frame(SBN_MSG_RESULT, reply, (uint16_t)RESULT_BYTES);
}

/* Reads one frame after its sync byte and answers it. */
static void serve_frame(void)
{
    uint8_t header[3];
    uint16_t crc = 0xFFFFu;
    uint16_t length;
    uint16_t expected;
    uint16_t i;
    int byte;
    int crc_lo;
    int crc_hi;

    for (i = 0u; i < 3u; i++) {
        byte = sbn_uart_read(SBN_READ_TIMEOUT_SPINS);
        if (byte < 0) {
            send_error(SBN_ERR_TIMEOUT, i > 0u ? header[0] : 0u);
            return;
        }
        header[i] = (uint8_t)byte;
        crc = crc16(crc, header[i]);
    }
    length = (uint16_t)(header[1] | (header[2] << 8));
    if (header[0] == SBN_MSG_INFO) {
        expected = 0u;
    } else if (header[0] == SBN_MSG_INFER) {
        expected = (uint16_t)SBN_INPUT_BYTES;
    } else {
        drain();
        send_error(SBN_ERR_TYPE, header[0]);
        return;
    }
    if (length != expected) {
        drain();
        send_error(SBN_ERR_LENGTH, header[0]);
        return;
    }
    for (i = 0u; i < length; i++) {
        byte = sbn_uart_read(SBN_READ_TIMEOUT_SPINS);
        if (byte < 0) {
            send_error(SBN_ERR_TIMEOUT, header[0]);
            return;
        }
        input_bytes[i] = (uint8_t)byte;
        crc = crc16(crc, input_bytes[i]);
    }
    crc_lo = sbn_uart_read(SBN_READ_TIMEOUT_SPINS);
    crc_hi = crc_lo < 0 ? -1 : sbn_uart_read(SBN_READ_TIMEOUT_SPINS);
    if (crc_hi < 0) {
        send_error(SBN_ERR_TIMEOUT, header[0]);
        return;
    }
    if ((uint16_t)(crc_lo | (crc_hi << 8)) != crc) {
        send_error(SBN_ERR_CHECKSUM, header[0]);
        return;
    }
    if (header[0] == SBN_MSG_INFO) {
        answer_info();
    } else {
        sbn_answer_infer();
    }
}

int main(void)
{
    sbn_board_init();
    sbn_uart_init();
    cycles_start();
    for (;;) {
        if (sbn_uart_read(0u) == (int)SBN_SYNC) {
            serve_frame();
        }
    }
}
