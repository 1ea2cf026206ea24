/* allot/arena.h - a bump allocator for one request's objects.
 *
 * Decoded plans, members and priced lines hold pointers into an arena; the
 * whole graph is freed at once with allot_arena_release (or recycled with
 * allot_arena_reset). Nothing allocated from an arena is freed on its own.
 */
#ifndef ALLOT_ARENA_H
#define ALLOT_ARENA_H

#include <stddef.h>

struct allot__arena_chunk;

struct allot_arena {
    struct allot__arena_chunk *head;  /* newest chunk, or NULL */
    size_t used;                      /* bytes used in head */
    size_t total;                     /* bytes handed out, all chunks */
};

#define ALLOT_ARENA_INIT {NULL, 0, 0}

void allot_arena_init(struct allot_arena *a);
/* n bytes aligned to 16, zeroed; NULL when memory is exhausted. */
void *allot_arena_alloc(struct allot_arena *a, size_t n);
/* n bytes aligned to 16, not zeroed, for memory the caller fills at once;
 * NULL when memory is exhausted. */
void *allot_arena_alloc_raw(struct allot_arena *a, size_t n);
/* Makes sure the next n bytes of allocations need no malloc: gives the arena
 * a chunk with n bytes free, unless it has them already. Zeroes nothing (an
 * allocation is zeroed when it is handed out). 0, or -1 when memory is
 * exhausted. */
int allot_arena_reserve(struct allot_arena *a, size_t n);
/* A NUL-terminated copy of the n bytes at s (which need not be terminated);
 * NULL when memory is exhausted. */
char *allot_arena_strndup(struct allot_arena *a, const char *s, size_t n);
/* A copy of the NUL-terminated s. */
char *allot_arena_strdup(struct allot_arena *a, const char *s);
/* Forgets everything allocated but keeps the first chunk for reuse. */
void allot_arena_reset(struct allot_arena *a);
/* Frees every chunk; the arena is empty and may be used again. */
void allot_arena_release(struct allot_arena *a);

#endif
