/*
 * protocol_defs.h - the numbers of hardware/PROTOCOL.md: sizes, message types, bits, codes.
 * hardware/protocol.py holds the same numbers; tests/hardware/vectors.txt checks both.
 */
#ifndef DDPG_FW_PROTOCOL_DEFS_H
#define DDPG_FW_PROTOCOL_DEFS_H

#define FW_PROTOCOL_VERSION 1u /* major: the frame's version byte */
#define FW_PROTOCOL_MINOR 1u   /* reported in HELLO_REPLY */

#define FW_SYNC0 0xA5u
#define FW_SYNC1 0x5Au
#define FW_HEADER_SIZE 7u /* sync(2) version length type seq(2) */
#define FW_CRC_SIZE 2u
#define FW_MAX_PAYLOAD 64u
#define FW_MAX_FRAME (FW_HEADER_SIZE + FW_MAX_PAYLOAD + FW_CRC_SIZE) /* 73 */
/* A partial frame whose next byte comes later than this is discarded (PROTOCOL.md, Receiving). */
#define FW_RESYNC_TIMEOUT_US 20000u

/* message types */
#define FW_MSG_HELLO 0x01u
#define FW_MSG_ARM 0x02u
#define FW_MSG_TORQUE 0x03u
#define FW_MSG_QUERY 0x04u
#define FW_MSG_DISARM 0x05u
#define FW_MSG_CLEAR_FAULT 0x06u
#define FW_MSG_HELLO_REPLY 0x81u
#define FW_MSG_STATE 0x82u
#define FW_MSG_NACK 0x83u

/* payload sizes */
#define FW_LEN_ARM 6u
#define FW_LEN_TORQUE 4u
#define FW_LEN_HELLO_REPLY 17u
#define FW_LEN_STATE 18u
#define FW_LEN_NACK 2u

/* STATE status bits */
#define FW_STATUS_ARMED 0x01u
#define FW_STATUS_FAULT 0x02u
#define FW_STATUS_TORQUE_LIMITED 0x04u

/* latched fault bits */
#define FW_FAULT_WATCHDOG 0x01u
#define FW_FAULT_ENCODER 0x02u
#define FW_FAULT_OVER_TEMPERATURE 0x04u
#define FW_FAULT_UNDER_VOLTAGE 0x08u
#define FW_FAULT_OVER_CURRENT 0x10u
#define FW_FAULT_ALL 0x1Fu

/* NACK codes */
#define FW_NACK_UNKNOWN_TYPE 1u
#define FW_NACK_BAD_ARGUMENT 2u
#define FW_NACK_FAULTED 3u

#endif /* DDPG_FW_PROTOCOL_DEFS_H */
