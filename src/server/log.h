/* log.h - one line per event on stderr: "<UTC time> allotd[pid]: <level>: <text>". */
#ifndef ALLOT_SERVER_LOG_H
#define ALLOT_SERVER_LOG_H

void allot_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void allot_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
