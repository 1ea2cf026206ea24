/* table.h - columns of text, aligned for a terminal.
 *
 * Cells are copied; widths count UTF-8 characters, not bytes. The last
 * column is not padded, so rows carry no trailing blanks.
 */
#ifndef ALLOTCTL_TABLE_H
#define ALLOTCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table {
    size_t ncols;
    size_t nrows;
    size_t cap;   /* cells allocated */
    char **cells; /* nrows * ncols; NULL cell prints as "" */
    size_t col;   /* next cell of the last row */
    int oom;      /* a copy failed: table_print prints what it has */
};

void table_init(struct table *t, size_t ncols);
/* Starts a new row; following table_cell calls fill it left to right. */
void table_row(struct table *t);
/* The next cell of the current row, printf-style. Extra cells are dropped. */
void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints every row, columns two spaces apart, each line led by indent. */
void table_print(const struct table *t, FILE *f, const char *indent);
void table_release(struct table *t);

#endif
