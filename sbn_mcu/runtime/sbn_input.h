/* The raw input of sbn_input_q: its type and layout. */
#ifndef SBN_INPUT_H
#define SBN_INPUT_H

#include "sbn_port.h"

enum { SBN_INPUT_U8 = 0, SBN_INPUT_I8 = 1, SBN_INPUT_I16 = 2 };

typedef struct {
    uint32_t type; /* SBN_INPUT_U8, SBN_INPUT_I8 or SBN_INPUT_I16 */
    uint32_t channels, positions, channels_last;
} sbn_input;

#endif /* SBN_INPUT_H */
