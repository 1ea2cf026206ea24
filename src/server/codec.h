/* codec.h - bytes <-> protobuf-c messages <-> allot model structs.
 *
 * Everything decoded or built here is allocated from the call's arena, so a
 * request, its model objects and its reply are freed together. Conversions
 * into the model report problems with the request's field path
 * ("member.enrollments[0].start: ...").
 */
#ifndef ALLOT_SERVER_CODEC_H
#define ALLOT_SERVER_CODEC_H

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "allot/arena.h"
#include "allot/err.h"
#include "allot/model.h"

#include "allot/v1/allot.pb-c.h"

/* A protobuf-c allocator that hands out memory from a and never frees:
 * whatever protobuf-c unpacks with it dies with the arena. */
ProtobufCAllocator codec_allocator(struct allot_arena *a);
/* A fresh message of type d, initialised to its defaults, in a; NULL when
 * out of memory. */
void *codec_msg_new(struct allot_arena *a, const ProtobufCMessageDescriptor *d);

/* Decodes bb (NULL: an empty message) as message type d. ALLOT_EINVAL when
 * the bytes are not such a message, ALLOT_ENOMEM when the arena is full. */
int codec_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, struct allot_arena *a,
                 const ProtobufCMessage **out);
/* m's encoding in a, *n bytes: pack.h's one pass, or protobuf-c's pack for
 * what that leaves to it (the bytes are the same). NULL when out of memory. */
const uint8_t *codec_pack_bytes(const ProtobufCMessage *m, struct allot_arena *a, size_t *n);
/* Encodes m into a new byte buffer the caller destroys, using a for
 * scratch. */
int codec_pack(const ProtobufCMessage *m, struct allot_arena *a, grpc_byte_buffer **out);

/* A date field: "" gives ALLOT_DATE_NONE when optional, else an error. */
int codec_date_in(const char *s, const char *field, int optional, allot_date *out,
                  struct allot_status *st);
/* "YYYY-MM-DD" in the arena; "" for ALLOT_DATE_NONE. NULL when out of memory. */
char *codec_date_out(struct allot_arena *a, allot_date d);

/* proto -> model. Strings are borrowed from the message (same arena).
 * Thresholds absent from a rule are resolved to {70, 80, 90, 100}. */
int codec_service_in(const Allot__V1__Service *in, struct allot_service *out);
int codec_version_in(const Allot__V1__PlanVersion *in, const char *prefix, struct allot_arena *a,
                     struct allot_plan_version *out, struct allot_status *st);
int codec_member_in(const Allot__V1__Member *in, const char *prefix, struct allot_arena *a,
                    struct allot_member *out, struct allot_status *st);

/* model -> proto, allocated from a; NULL when out of memory. */
Allot__V1__Service *codec_service_out(struct allot_arena *a, const struct allot_service *s);
Allot__V1__PlanVersion *codec_version_out(struct allot_arena *a,
                                          const struct allot_plan_version *v);
Allot__V1__Plan *codec_plan_out(struct allot_arena *a, const struct allot_plan *p);
Allot__V1__Member *codec_member_out(struct allot_arena *a, const struct allot_member *m);
Allot__V1__Period *codec_period_out(struct allot_arena *a, const struct allot_period *p);

#endif
