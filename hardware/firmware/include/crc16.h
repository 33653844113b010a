/* crc16.h - CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0): the frame
 * check. Check value: crc16_update(FW_CRC16_INIT, "123456789", 9) == 0x29B1. */
#ifndef DDPG_FW_CRC16_H
#define DDPG_FW_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define FW_CRC16_INIT 0xFFFFu

/* Continue the CRC ``crc`` over ``n`` bytes (start with FW_CRC16_INIT). */
uint16_t crc16_update(uint16_t crc, const uint8_t *data, size_t n);

#endif /* DDPG_FW_CRC16_H */
