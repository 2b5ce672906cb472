/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging to stderr, one line per message, with a level prefix that journald
 * understands ("<3>" style) when stderr is the journal, and a readable
 * "ERROR:" style otherwise. lib/ logs at debug level only, except where it
 * translates a foreign error (TSS, OpenSSL, curl). Never log secrets.
 */
#ifndef KL_LOG_H
#define KL_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum kl_log_level {
        KL_LOG_ERROR = 3, /* syslog priorities, so the journal prefix is the value */
        KL_LOG_WARNING = 4,
        KL_LOG_INFO = 6,
        KL_LOG_DEBUG = 7,
};

void kl_log_set_level(enum kl_log_level level);
enum kl_log_level kl_log_get_level(void);
/* "error", "warn"/"warning", "info", "debug" (case-insensitive); false if unknown. */
bool kl_log_level_parse(const char *s, enum kl_log_level *ret_level);
/* Name shown in front of each line, e.g. "keylime_agent". */
void kl_log_set_ident(const char *ident);

/*
 * Copies src into dst (dst_size > 0), writing each control byte (< 0x20, 0x7f) as
 * "\xNN"; truncates at a whole character and always NUL-terminates. Returns the
 * length written. kl_log() applies it to every message.
 */
size_t kl_log_escape(char *dst, size_t dst_size, const char *src);

void kl_log(enum kl_log_level level, const char *file, int line, const char *func, const char *fmt,
            ...) __attribute__((format(printf, 5, 6)));

#define log_error(...) kl_log(KL_LOG_ERROR, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_warn(...)  kl_log(KL_LOG_WARNING, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_info(...)  kl_log(KL_LOG_INFO, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_debug(...) kl_log(KL_LOG_DEBUG, __FILE__, __LINE__, __func__, __VA_ARGS__)

#endif
