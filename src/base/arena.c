/* arena.c - bump allocation in chunks; see allot/arena.h.
 *
 * Chunks form a list, newest first. A request larger than the default chunk
 * gets a chunk of its own, so no request is ever refused for its size alone.
 * reset keeps the oldest chunk (the tail) so a recycled arena does not touch
 * malloc for small requests.
 */
#include "allot/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_DEFAULT (16u * 1024u)
#define ARENA_ALIGN 16u

struct allot__arena_chunk {
    struct allot__arena_chunk *next;
    size_t size; /* usable bytes in data */
    _Alignas(16) unsigned char data[];
};

void allot_arena_init(struct allot_arena *a)
{
    a->head = NULL;
    a->used = 0;
    a->total = 0;
}

static struct allot__arena_chunk *chunk_new(size_t size)
{
    struct allot__arena_chunk *c;
    if (size > SIZE_MAX - sizeof *c)
        return NULL;
    c = malloc(sizeof *c + size);
    if (!c)
        return NULL;
    c->next = NULL;
    c->size = size;
    return c;
}

void *allot_arena_alloc_raw(struct allot_arena *a, size_t n)
{
    size_t need, off;
    void *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - ARENA_ALIGN)
        return NULL;
    need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    off = a->used;
    if (a->head && a->head->size - off < need && need > ARENA_CHUNK_DEFAULT) {
        /* an oversized request gets a chunk of its own behind the head, so
         * the head's free space still serves the small requests after it */
        struct allot__arena_chunk *c = chunk_new(need);
        if (!c)
            return NULL;
        c->next = a->head->next;
        a->head->next = c;
        a->total += need;
        return c->data;
    }
    if (!a->head || a->head->size - off < need) {
        struct allot__arena_chunk *c =
            chunk_new(need > ARENA_CHUNK_DEFAULT ? need : ARENA_CHUNK_DEFAULT);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        off = 0;
    }
    p = a->head->data + off;
    a->used = off + need;
    a->total += need;
    return p;
}

void *allot_arena_alloc(struct allot_arena *a, size_t n)
{
    void *p = allot_arena_alloc_raw(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

int allot_arena_reserve(struct allot_arena *a, size_t n)
{
    struct allot__arena_chunk *c;
    if (a->head && a->head->size - a->used >= n)
        return 0;
    if (!(c = chunk_new(n > ARENA_CHUNK_DEFAULT ? n : ARENA_CHUNK_DEFAULT)))
        return -1;
    c->next = a->head;
    a->head = c;
    a->used = 0;
    return 0;
}

char *allot_arena_strndup(struct allot_arena *a, const char *s, size_t n)
{
    char *p = allot_arena_alloc_raw(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *allot_arena_strdup(struct allot_arena *a, const char *s)
{
    return allot_arena_strndup(a, s, strlen(s));
}

void allot_arena_reset(struct allot_arena *a)
{
    struct allot__arena_chunk *c = a->head, *keep = NULL;
    while (c) {
        struct allot__arena_chunk *next = c->next;
        if (!next)
            keep = c;
        else
            free(c);
        c = next;
    }
    a->head = keep;
    a->used = 0;
    a->total = 0;
}

void allot_arena_release(struct allot_arena *a)
{
    struct allot__arena_chunk *c = a->head;
    while (c) {
        struct allot__arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    allot_arena_init(a);
}
