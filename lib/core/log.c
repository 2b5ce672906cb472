/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stderr logger. One write(2) per line so lines from threads do not interleave.
 * Every message is escaped after formatting, so a peer string (a UUID, a path, a
 * registrar's reason) can never start a forged line or carry a journald "<N>" prefix
 * onto one. Peer-supplied strings must still be capped by the caller ('%.*s').
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static enum kl_log_level max_level = KL_LOG_INFO;
static const char *log_ident = "keylime";

void kl_log_set_level(enum kl_log_level level)
{
        max_level = level;
}

enum kl_log_level kl_log_get_level(void)
{
        return max_level;
}

void kl_log_set_ident(const char *ident)
{
        log_ident = ident;
}

bool kl_log_level_parse(const char *s, enum kl_log_level *ret_level)
{
        static const struct {
                const char *name;
                enum kl_log_level level;
        } names[] = {
            {"error", KL_LOG_ERROR}, {"warn", KL_LOG_WARNING}, {"warning", KL_LOG_WARNING},
            {"info", KL_LOG_INFO},   {"debug", KL_LOG_DEBUG},  {"trace", KL_LOG_DEBUG},
        };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                if (strcasecmp(s, names[i].name) == 0) {
                        *ret_level = names[i].level;
                        return true;
                }
        }
        return false;
}

static const char *level_name(enum kl_log_level level)
{
        switch (level) {
        case KL_LOG_ERROR:
                return "ERROR";
        case KL_LOG_WARNING:
                return "WARN";
        case KL_LOG_INFO:
                return "INFO";
        default:
                return "DEBUG";
        }
}

size_t kl_log_escape(char *dst, size_t dst_size, const char *src)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        if (dst_size == 0)
                return 0;
        for (const unsigned char *p = (const unsigned char *)src; *p != '\0'; p++) {
                bool ctl = *p < 0x20 || *p == 0x7f;
                size_t need = ctl ? 4 : 1;

                if (need >= dst_size - o) /* keep room for the NUL; never split an escape */
                        break;
                if (ctl) {
                        dst[o++] = '\\';
                        dst[o++] = 'x';
                        dst[o++] = hex[*p >> 4];
                        dst[o++] = hex[*p & 0xf];
                } else {
                        dst[o++] = (char)*p;
                }
        }
        dst[o] = '\0';
        return o;
}

void kl_log(enum kl_log_level level, const char *file, int line, const char *func, const char *fmt,
            ...)
{
        char raw[2048];
        char msg[2048];
        char out[2304];
        va_list ap;
        int n;

        if (level > max_level)
                return;
        va_start(ap, fmt);
        n = vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        kl_log_escape(msg, sizeof(msg), raw);
        /* A truncated message is still worth printing. */
        if (getenv("JOURNAL_STREAM") != NULL)
                n = snprintf(out, sizeof(out), "<%d>%s\n", (int)level, msg);
        else if (max_level >= KL_LOG_DEBUG)
                n = snprintf(out, sizeof(out), "%s %s: %s (%s:%d %s)\n", log_ident,
                             level_name(level), msg, file, line, func);
        else
                n = snprintf(out, sizeof(out), "%s %s: %s\n", log_ident, level_name(level), msg);
        if (n < 0)
                return;
        if ((size_t)n >= sizeof(out))
                n = (int)sizeof(out) - 1;
        (void)!write(STDERR_FILENO, out, (size_t)n);
}
