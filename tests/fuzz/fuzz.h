/* fuzz.h - what the fuzz targets share.
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with -DALLOT_FUZZ=ON and
 * clang it is linked with libFuzzer; in every build it is also linked with
 * replay.c, whose main() feeds it the seed corpus and every input that once
 * crashed (tests/fuzz/regress/<target>/), so those stay fixed in CI.
 *
 * FUZZ_CHECK does not depend on NDEBUG: the normal build is RelWithDebInfo,
 * and a property that only holds in Debug builds is not a property.
 */
#ifndef ALLOT_FUZZ_H
#define ALLOT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes a handful of meaningful inputs into dir (replay --write-seeds).
 * Returns 0, or -1 when a file could not be written. */
int fuzz_write_seeds(const char *dir);

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Writes one seed file dir/name. */
static inline int fuzz_seed_write(const char *dir, const char *name, const void *data, size_t n)
{
    char path[4096];
    FILE *f;
    size_t w;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb"))) {
        perror(path);
        return -1;
    }
    w = n ? fwrite(data, 1, n, f) : 0;
    if (fclose(f) != 0 || w != n) {
        perror(path);
        return -1;
    }
    return 0;
}

/* A byte buffer that seed writers append to. Aborts when full: seeds are
 * small and fixed. */
struct fuzz_buf {
    uint8_t b[65536];
    size_t n;
};

static inline void fuzz_put(struct fuzz_buf *fb, unsigned v)
{
    FUZZ_CHECK(fb->n < sizeof fb->b, "seed buffer full");
    fb->b[fb->n++] = (uint8_t)v;
}

static inline void fuzz_put_bytes(struct fuzz_buf *fb, const void *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        fuzz_put(fb, ((const uint8_t *)p)[i]);
}

/* Little-endian, as struct fuzz_reader reads them. */
static inline void fuzz_put16(struct fuzz_buf *fb, unsigned v)
{
    fuzz_put(fb, v & 0xff);
    fuzz_put(fb, (v >> 8) & 0xff);
}

static inline void fuzz_put32(struct fuzz_buf *fb, uint32_t v)
{
    fuzz_put16(fb, v & 0xffff);
    fuzz_put16(fb, v >> 16);
}

/* Reads the fuzz input front to back; once it is used up every read is 0,
 * so any input decodes to something. */
struct fuzz_reader {
    const uint8_t *p;
    size_t n;
};

static inline unsigned fuzz_u8(struct fuzz_reader *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static inline unsigned fuzz_u16(struct fuzz_reader *r)
{
    unsigned lo = fuzz_u8(r);
    return lo | (fuzz_u8(r) << 8);
}

static inline uint32_t fuzz_u32(struct fuzz_reader *r)
{
    uint32_t lo = fuzz_u16(r);
    return lo | ((uint32_t)fuzz_u16(r) << 16);
}

/* One of n choices (n <= 256): the byte modulo n, so a seed writes the
 * index itself. */
static inline unsigned fuzz_pick(struct fuzz_reader *r, unsigned n)
{
    return fuzz_u8(r) % n;
}

#endif
