/* wire.h - little-endian fields of the wire format (u16, u32, i32, IEEE-754 f32). No alignment
 * assumptions, no type punning through pointers: works on any endianness. */
#ifndef DDPG_FW_WIRE_H
#define DDPG_FW_WIRE_H

#include <stdint.h>

void wire_put_u16(uint8_t *p, uint16_t v);
void wire_put_u32(uint8_t *p, uint32_t v);
void wire_put_f32(uint8_t *p, float v);
uint16_t wire_get_u16(const uint8_t *p);
uint32_t wire_get_u32(const uint8_t *p);
float wire_get_f32(const uint8_t *p);

#endif /* DDPG_FW_WIRE_H */
