/* pack.c - see pack.h.
 *
 * The buffer is filled from its end toward its start: p is the first byte
 * written so far, end is one past the last. What has been written is
 * measured from end (end - p), which stays true when the buffer is moved
 * into a bigger one, so a sub-message's start is remembered as that
 * distance. Each field is written value first, then its tag in front of it;
 * fields go last to first, repeated elements last to first, so the bytes
 * come out in protobuf-c's order.
 *
 * The rules for what is written are protobuf-c 1.4's
 * (protobuf_c_message_pack): a required field always; a proto3 (unlabeled)
 * field unless it is zero, false, "" or NULL (bytes: length 0); an optional
 * field when its has_ flag is set, or for strings and messages when the
 * pointer is neither NULL nor the field's default; a repeated field's
 * elements when there are any, packed varints as one length-delimited
 * field. A NULL string or message inside a repeated field is written with
 * length 0. Negative int32 and enum values are ten-byte varints, as the
 * wire format asks.
 */
#include "pack.h"

#include <string.h>

#define PACK_FIRST_SIZE 2048u /* most replies fit; GetAllotments may grow once */

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

struct out {
    uint8_t *start, *p, *end;
    struct allot_arena *a;
};

static size_t written(const struct out *o)
{
    return (size_t)(o->end - o->p);
}

/* Room for n more bytes in front of p: a buffer at least twice as big, the
 * bytes so far moved to its end. The old buffer stays in the arena. */
static __attribute__((noinline)) int grow(struct out *o, size_t n)
{
    size_t have = written(o), size = (size_t)(o->end - o->start) * 2;
    uint8_t *b;

    if (!o->a)
        return -1; /* pack_message_into: it does not fit */
    if (size < PACK_FIRST_SIZE)
        size = PACK_FIRST_SIZE;
    while (size - have < n) {
        if (size > SIZE_MAX / 2)
            return -1;
        size *= 2;
    }
    if (!(b = allot_arena_alloc_raw(o->a, size)))
        return -1;
    if (have)
        memcpy(b + size - have, o->p, have);
    o->start = b;
    o->end = b + size;
    o->p = o->end - have;
    return 0;
}

static inline int room(struct out *o, size_t n)
{
    return (size_t)(o->p - o->start) >= n ? 0 : grow(o, n);
}

static __attribute__((noinline)) int put_varint_long(struct out *o, uint64_t v)
{
    size_t n = (size_t)(64 - __builtin_clzll(v) + 6) / 7, i; /* v >= 0x80: 2..10 bytes */
    if (room(o, n))
        return -1;
    o->p -= n;
    for (i = 0; i + 1 < n; i++, v >>= 7)
        o->p[i] = (uint8_t)(v | 0x80);
    o->p[i] = (uint8_t)v;
    return 0;
}

/* Most varints (tags of fields 1-15, lengths and values below 128) are one
 * byte. */
static inline int put_varint(struct out *o, uint64_t v)
{
    if (v >= 0x80)
        return put_varint_long(o, v);
    if (o->p == o->start && grow(o, 1))
        return -1;
    *--o->p = (uint8_t)v;
    return 0;
}

static inline int put_bytes(struct out *o, const void *b, size_t n)
{
    if (room(o, n))
        return -1;
    o->p -= n;
    if (n)
        memcpy(o->p, b, n);
    return 0;
}

static inline int put_tag(struct out *o, uint32_t id, unsigned wire)
{
    return put_varint(o, (uint64_t)id << 3 | wire);
}

/* The types handled, as a mask of 1 << ProtobufCType. */
#define HANDLED                                                                                    \
    (1u << PROTOBUF_C_TYPE_BOOL | 1u << PROTOBUF_C_TYPE_ENUM | 1u << PROTOBUF_C_TYPE_INT32 |       \
     1u << PROTOBUF_C_TYPE_UINT32 | 1u << PROTOBUF_C_TYPE_INT64 | 1u << PROTOBUF_C_TYPE_UINT64 |   \
     1u << PROTOBUF_C_TYPE_STRING | 1u << PROTOBUF_C_TYPE_BYTES | 1u << PROTOBUF_C_TYPE_MESSAGE)

static inline int handled(ProtobufCType t)
{
    return (unsigned)t < 32 && (HANDLED >> t & 1);
}

/* The varint of one scalar, as protobuf-c writes it; 1 when the field's
 * type is not a varint this encoder handles. */
static int varint_of(const ProtobufCFieldDescriptor *f, const void *member, uint64_t *v)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_BOOL:
        *v = *(const protobuf_c_boolean *)member ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32:
        *v = (uint64_t)(int64_t) * (const int32_t *)member; /* negative: ten bytes */
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
        *v = *(const uint32_t *)member;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        *v = *(const uint64_t *)member;
        return 0;
    default:
        return 1;
    }
}

static int put_message(struct out *o, const ProtobufCMessage *m);

/* One value of field f (member points at it) with its tag; nothing when
 * skip_zero (a proto3 field) and the value is zero, false, "", NULL or
 * empty bytes. -1 when out of memory, 1 for a type this encoder does not
 * handle (whatever the value). */
static int put_field(struct out *o, const ProtobufCFieldDescriptor *f, const void *member,
                     int skip_zero)
{
    size_t mark;
    uint64_t v;
    int rc;

    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)member;
        size_t n;
        if (skip_zero && (!s || !s[0]))
            return 0;
        n = s ? strlen(s) : 0;
        if (put_bytes(o, s, n) || put_varint(o, (uint32_t)n))
            return -1;
        return put_tag(o, f->id, WIRE_LEN);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = member;
        if (skip_zero && !b->len)
            return 0;
        if (put_bytes(o, b->data, b->len) || put_varint(o, (uint32_t)b->len))
            return -1;
        return put_tag(o, f->id, WIRE_LEN);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)member;
        if (skip_zero && !sub)
            return 0;
        mark = written(o);
        if (sub && (rc = put_message(o, sub)))
            return rc;
        if (put_varint(o, (uint32_t)(written(o) - mark)))
            return -1;
        return put_tag(o, f->id, WIRE_LEN);
    }
    default:
        if (varint_of(f, member, &v))
            return 1;
        if (skip_zero && !v)
            return 0;
        if (put_varint(o, v))
            return -1;
        return put_tag(o, f->id, WIRE_VARINT);
    }
}

static inline size_t element_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 0;
    }
}

static int put_repeated(struct out *o, const ProtobufCFieldDescriptor *f, size_t n,
                        const char *elts)
{
    size_t size = element_size(f->type), mark = written(o), i;
    uint64_t v;
    int rc;

    if (!size)
        return 1;
    if (!(f->flags & PROTOBUF_C_FIELD_FLAG_PACKED)) {
        for (i = n; i-- > 0;)
            if ((rc = put_field(o, f, elts + i * size, 0)))
                return rc;
        return 0;
    }
    for (i = n; i-- > 0;) {
        if (varint_of(f, elts + i * size, &v))
            return 1;
        if (put_varint(o, v))
            return -1;
    }
    if (put_varint(o, (uint32_t)(written(o) - mark)))
        return -1;
    return put_tag(o, f->id, WIRE_LEN);
}

static int put_message(struct out *o, const ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned i;
    int rc;

    if (m->n_unknown_fields)
        return 1;
    for (i = d->n_fields; i-- > 0;) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *member = (const char *)m + f->offset;
        const char *q = (const char *)m + f->quantifier_offset;

        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
            return 1;
        switch (f->label) {
        case PROTOBUF_C_LABEL_REQUIRED:
            rc = put_field(o, f, member, 0);
            break;
        case PROTOBUF_C_LABEL_OPTIONAL:
            if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
                const void *ptr = *(const void *const *)member;
                if (!ptr || ptr == f->default_value)
                    continue;
            } else if (!*(const protobuf_c_boolean *)q) {
                continue;
            }
            rc = put_field(o, f, member, 0);
            break;
        case PROTOBUF_C_LABEL_NONE:
            rc = put_field(o, f, member, 1);
            break;
        default: { /* repeated */
            size_t n = *(const size_t *)q;
            rc = n ? put_repeated(o, f, n, *(const char *const *)member) : 0;
            if (!n && !handled(f->type))
                return 1;
            break;
        }
        }
        if (rc)
            return rc;
    }
    return 0;
}

const uint8_t *pack_message(const ProtobufCMessage *m, struct allot_arena *a, size_t *n)
{
    struct out o = {NULL, NULL, NULL, a};

    *n = 0;
    if (grow(&o, 0) || put_message(&o, m))
        return NULL;
    *n = written(&o);
    return o.p;
}

const uint8_t *pack_message_into(const ProtobufCMessage *m, uint8_t *buf, size_t cap, size_t *n)
{
    struct out o = {buf, buf + cap, buf + cap, NULL};

    *n = 0;
    if (put_message(&o, m))
        return NULL;
    *n = written(&o);
    return o.p;
}
