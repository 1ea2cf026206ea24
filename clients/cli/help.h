/* help.h - the command table and every help text.
 *
 * One table drives dispatch, option checking and help, so a command's
 * help cannot list an option the parser refuses.
 */
#ifndef ALLOTCTL_HELP_H
#define ALLOTCTL_HELP_H

#include <stdio.h>

#include "cli.h"

struct command {
    const char *group; /* "service", or NULL for one-word commands */
    const char *verb;  /* "put"; the command itself when group is NULL */
    const char *name;  /* "service put" */
    int (*run)(struct cli *c, const struct args *a);
    const char *opts;     /* options it takes besides the global ones: "file as-of" */
    int min_pos, max_pos; /* positional arguments; max -1: any number */
    const char *synopsis; /* after "allotctl " */
    const char *summary;
    const char *details; /* "" or more lines */
};

extern const struct command commands[];

const char *help_synopsis(const struct command *cmd);
const char *help_name(const struct command *cmd);
/* Does cmd take option `opt` ("file")? */
int help_takes(const struct command *cmd, const char *opt);
/* The command named by group/verb (verb may be NULL for one-word ones). */
const struct command *help_find(const char *w1, const char *w2);
/* Is w a group ("service") that has verbs? */
int help_is_group(const char *w);

void help_main(FILE *f);
void help_command(FILE *f, const struct command *cmd);
/* `allotctl help WORDS`: a command, a group, "files" or "security".
 * Returns 0 when the topic exists (printed to f), else -1. */
int help_topic(FILE *f, const char *w1, const char *w2);

#endif
