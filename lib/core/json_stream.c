/* SPDX-License-Identifier: Apache-2.0 */
/*
 * See json_stream.h. A stream is in one of four parts (prefix, string,
 * suffix, done) or failed; escape bytes that did not fit into the last
 * output piece wait in `pend`. The escaping must stay that of
 * kl_json_to_string (no escaping of '/'): the unit test compares both on
 * every byte value.
 */
#include "json_stream.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define IN_SIZE (64u * 1024u)

enum part { PREFIX, STRING, SUFFIX, DONE, FAILED };

struct json_stream {
        char *prefix, *suffix;
        size_t prefix_len, suffix_len;
        size_t off; /* into the prefix or the suffix */
        enum part part;
        int err; /* FAILED: the source's error */
        struct kl_stream src;
        char pend[6]; /* "\u00xx" at most */
        size_t pend_len, pend_off;
        size_t in_len, in_off;
        char in[IN_SIZE];
};

/* The escape of c into out (2 or 6 bytes), or 0 when c is written as itself. */
static size_t escape(unsigned char c, char out[6])
{
        static const char hex[] = "0123456789abcdef";
        char short_form;

        switch (c) {
        case '\b':
                short_form = 'b';
                break;
        case '\f':
                short_form = 'f';
                break;
        case '\n':
                short_form = 'n';
                break;
        case '\r':
                short_form = 'r';
                break;
        case '\t':
                short_form = 't';
                break;
        case '"':
        case '\\':
                short_form = (char)c;
                break;
        default:
                if (c >= 0x20)
                        return 0;
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 0xf];
                return 6;
        }
        out[0] = '\\';
        out[1] = short_form;
        return 2;
}

static bool plain(unsigned char c)
{
        return c >= 0x20 && c != '"' && c != '\\';
}

/* Copies what is left of text from *off into buf, as far as it fits; returns the count. */
static size_t copy_part(const char *text, size_t len, size_t *off, char *buf, size_t max)
{
        size_t n = len - *off < max ? len - *off : max;

        memcpy(buf, text + *off, n);
        *off += n;
        return n;
}

/* Escapes buffered input into buf[0..max); returns the bytes written. */
static size_t escape_some(struct json_stream *s, char *buf, size_t max)
{
        size_t n = 0;

        while (n < max && s->in_off < s->in_len) {
                size_t run = 0, room = max - n, k;
                const unsigned char *p = (const unsigned char *)s->in + s->in_off;

                while (run < s->in_len - s->in_off && run < room && plain(p[run]))
                        run++;
                memcpy(buf + n, p, run);
                n += run;
                s->in_off += run;
                if (run == room || s->in_off == s->in_len)
                        break;
                /* p[run] needs an escape: what does not fit waits in pend */
                s->pend_len = escape(p[run], s->pend);
                s->pend_off = 0;
                s->in_off++;
                k = copy_part(s->pend, s->pend_len, &s->pend_off, buf + n, max - n);
                n += k;
        }
        return n;
}

static ssize_t json_stream_read(void *cls, char *buf, size_t max)
{
        struct json_stream *s = cls;
        size_t n = 0;
        ssize_t got;

        if (max == 0)
                return KL_ERR_INVAL;
        while (n < max) {
                if (s->pend_off < s->pend_len) {
                        n += copy_part(s->pend, s->pend_len, &s->pend_off, buf + n, max - n);
                        continue;
                }
                switch (s->part) {
                case PREFIX:
                        n += copy_part(s->prefix, s->prefix_len, &s->off, buf + n, max - n);
                        if (s->off == s->prefix_len)
                                s->part = STRING;
                        break;
                case STRING:
                        if (s->in_off < s->in_len) {
                                n += escape_some(s, buf + n, max - n);
                                break;
                        }
                        got = s->src.read(s->src.cls, s->in, sizeof(s->in));
                        if (got < 0 || (size_t)got > sizeof(s->in)) {
                                s->part = FAILED;
                                s->err = got < 0 ? (int)got : KL_ERR_INTERNAL;
                                return s->err;
                        }
                        if (got == 0) {
                                s->part = SUFFIX;
                                s->off = 0;
                                break;
                        }
                        s->in_len = (size_t)got;
                        s->in_off = 0;
                        break;
                case SUFFIX:
                        n += copy_part(s->suffix, s->suffix_len, &s->off, buf + n, max - n);
                        if (s->off == s->suffix_len)
                                s->part = DONE;
                        break;
                case DONE:
                        return (ssize_t)n;
                case FAILED:
                        return s->err;
                }
        }
        return (ssize_t)n;
}

static void json_stream_free(void *cls)
{
        struct json_stream *s = cls;

        if (s == NULL)
                return;
        kl_stream_close(&s->src);
        free(s->prefix);
        free(s->suffix);
        free(s);
}

int kl_json_stream_new(char *prefix, char *suffix, struct kl_stream src, struct kl_stream *ret)
{
        struct json_stream *s = NULL;
        int r = KL_ERR_INVAL;

        if (prefix == NULL || suffix == NULL || src.read == NULL || ret == NULL)
                goto out;
        r = KL_ERR_NOMEM;
        if ((s = calloc(1, sizeof(*s))) == NULL)
                goto out;
        s->prefix = prefix;
        s->suffix = suffix;
        s->prefix_len = strlen(prefix);
        s->suffix_len = strlen(suffix);
        s->part = PREFIX;
        s->src = src;
        prefix = suffix = NULL;
        src = (struct kl_stream){0};
        *ret = (struct kl_stream){.read = json_stream_read, .free = json_stream_free, .cls = s};
        r = 0;
out:
        free(prefix);
        free(suffix);
        kl_stream_close(&src);
        return r;
}
