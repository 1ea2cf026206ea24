/* replay.c - runs a fuzz target's entry point on files, without libFuzzer.
 *
 *   <target>_replay PATH...            every file in each directory PATH (or
 *                                      the file PATH) through
 *                                      LLVMFuzzerTestOneInput; a missing
 *                                      directory counts as empty
 *   <target>_replay --write-seeds DIR  writes the target's seed corpus
 *
 * A failed property aborts, which fails the ctest test that runs this. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    /* a copy of exactly n bytes, as libFuzzer passes them: reads past the
     * end are caught by ASan in sanitized builds */
    buf = malloc(n ? (size_t)n : 1);
    if (!buf || (n && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir, in name order. Returns how many, or -1. */
static long run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0, i;
    long ran = 0;

    if (!d)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d))) {
        struct stat sb;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn)
                abort();
            names = nn;
        }
        if (!(names[n++] = strdup(e->d_name)))
            abort();
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (run_file(path) == 0)
            ran++;
        else
            ran = -1 - (long)n; /* stays negative */
        free(names[i]);
    }
    free(names);
    return ran < 0 ? -1 : ran;
}

int main(int argc, char **argv)
{
    long total = 0;
    int i;

    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return fuzz_write_seeds(argv[2]) ? 1 : 0;
    for (i = 1; i < argc; i++) {
        struct stat sb;
        long n;
        if (stat(argv[i], &sb) == 0 && S_ISREG(sb.st_mode))
            n = run_file(argv[i]) == 0 ? 1 : -1;
        else
            n = run_dir(argv[i]);
        if (n < 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        printf("replay: %s: %ld inputs\n", argv[i], n);
        total += n;
    }
    printf("replay: %ld inputs, no failure\n", total);
    return 0;
}
