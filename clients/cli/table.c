/* table.c - see table.h. */
#include "table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void table_init(struct table *t, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

void table_row(struct table *t)
{
    size_t need = (t->nrows + 1) * t->ncols;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
        char **cells;
        while (cap < need)
            cap *= 2;
        if (!(cells = realloc(t->cells, cap * sizeof *cells))) {
            t->oom = 1;
            t->col = t->ncols; /* drop this row's cells */
            return;
        }
        memset(cells + t->cap, 0, (cap - t->cap) * sizeof *cells);
        t->cells = cells;
        t->cap = cap;
    }
    t->nrows++;
    t->col = 0;
}

void table_cell(struct table *t, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    if (!t->nrows || t->col >= t->ncols)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1))) {
        t->oom = 1;
        t->col++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->cells[(t->nrows - 1) * t->ncols + t->col++] = s;
}

static size_t width(const char *s)
{
    size_t w = 0;
    if (!s)
        return 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void table_print(const struct table *t, FILE *f, const char *indent)
{
    size_t *w = calloc(t->ncols ? t->ncols : 1, sizeof *w);
    size_t r, c, last;

    if (!w)
        return;
    for (r = 0; r < t->nrows; r++)
        for (c = 0; c < t->ncols; c++) {
            size_t x = width(t->cells[r * t->ncols + c]);
            if (x > w[c])
                w[c] = x;
        }
    for (r = 0; r < t->nrows; r++) {
        /* The last non-empty cell ends the line: no trailing blanks. */
        last = 0;
        for (c = 0; c < t->ncols; c++)
            if (width(t->cells[r * t->ncols + c]))
                last = c;
        fputs(indent ? indent : "", f);
        for (c = 0; c <= last; c++) {
            const char *s = t->cells[r * t->ncols + c];
            fputs(s ? s : "", f);
            if (c < last)
                fprintf(f, "%*s", (int)(w[c] - width(s) + 2), "");
        }
        fputc('\n', f);
    }
    free(w);
}

void table_release(struct table *t)
{
    size_t i;
    for (i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
