/* versions.h - decoded plan versions, kept for the life of the store (see
 * versions.c). Safe from any thread. */
#ifndef ALLOT_STORE_VERSIONS_H
#define ALLOT_STORE_VERSIONS_H

#include <stddef.h>

#include "allot/model.h"

struct allot__versions;

/* allot__versions_get's answer when every slot is taken: decode into the
 * caller's own arena instead. */
#define ALLOT__VERSIONS_FULL 1

struct allot__versions *allot__versions_new(void);
/* Frees every kept version: only when no reader can hold one. */
void allot__versions_free(struct allot__versions *vs);

/* The decoded version of plan_id (idlen bytes) effective d, whose stored
 * record is the n bytes at bytes: the kept one, or decoded now and kept.
 * *out stays valid until allot__versions_free. 0; ALLOT__VERSIONS_FULL;
 * ALLOT_ECORRUPT when the record does not decode; ALLOT_ENOMEM. */
int allot__versions_get(struct allot__versions *vs, const char *plan_id, size_t idlen, allot_date d,
                        const void *bytes, size_t n, const struct allot_plan_version **out);

#endif
