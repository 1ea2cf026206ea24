/* pack.h - protobuf-c messages to bytes in one pass.
 *
 * protobuf_c_message_pack writes a sub-message's length before its
 * contents, so it sizes every sub-message again as it reaches it: a
 * message nested three deep is walked three times to be sized and once to
 * be written. That was three quarters of what packing a GetAllotments
 * reply cost. pack_message writes from the last field to the first, from
 * the end of the buffer back, so a sub-message's length is known when its
 * header is written: one walk. The bytes are exactly protobuf-c's (same
 * fields in the same order, same varints), which the unit test and the
 * request fuzzer check against protobuf_c_message_pack.
 *
 * It handles the field kinds allot's protos use: bool, enums, int32,
 * uint32, int64, uint64, string, bytes and messages, singular (proto3 or
 * proto2 optional/required) or repeated (packed or not). A message with
 * anything else (sint, fixed, float and double fields, oneofs, unknown
 * fields) is refused, and the caller packs it with protobuf-c instead.
 */
#ifndef ALLOT_SERVER_PACK_H
#define ALLOT_SERVER_PACK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "allot/arena.h"

/* The encoding of m in memory from a, *n bytes long. NULL when m has a
 * field kind this encoder does not handle (see above), or when the arena
 * is out of memory. */
const uint8_t *pack_message(const ProtobufCMessage *m, struct allot_arena *a, size_t *n);
/* The same into the cap bytes at buf, from its end back: the encoding is
 * the last *n bytes of buf. NULL also when it does not fit. */
const uint8_t *pack_message_into(const ProtobufCMessage *m, uint8_t *buf, size_t cap, size_t *n);

#endif
