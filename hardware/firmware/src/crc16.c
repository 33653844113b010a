/* crc16.c - CRC-16/CCITT-FALSE, bit at a time: 16 bytes of code, no 512-byte table in RAM. */
#include "crc16.h"

uint16_t crc16_update(uint16_t crc, const uint8_t *data, size_t n)
{
    while (n--) {
        crc ^= (uint16_t)((uint16_t)*data++ << 8);
        for (uint8_t bit = 0; bit < 8; bit++)
            if (crc & 0x8000u)
                crc = (uint16_t)(((uint32_t)crc << 1) ^ 0x1021u);
            else
                crc = (uint16_t)((uint32_t)crc << 1);
    }
    return crc;
}
