/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TOML subset parser for Keylime's agent.conf; toml.h lists what is
 * accepted. Everything outside the subset (floats, dates, inline tables,
 * multi-line strings, dotted keys, [[array tables]]) is rejected with a
 * "LINE: message" error rather than misread.
 *
 * Written by hand because Debian packages no C TOML library (tomlc99 and
 * tomlc17 are not in the archive), and the subset agent.conf uses is small.
 *
 * The input is untrusted: the parser never reads past text + len, refuses
 * input larger than KL_TOML_MAX_INPUT, arrays longer than MAX_ARRAY_ITEMS and
 * more than MAX_KEYS keys, and recurses only through nested arrays, at most
 * KL_TOML_MAX_DEPTH deep. It owns nothing beyond one kl_toml_parse() call:
 * each value is built, lent to the callback, then freed.
 *
 * One job past 600 lines: lexing, values, tables and the duplicate-name set
 * all work on one struct parser and one error path, and split apart they
 * would only pass it around.
 */
#include "toml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hex.h"
#include "mem.h"

#define MAX_ARRAY_ITEMS 4096u
#define MAX_KEYS        65536u

/* One defined name: 'T' + table name, or 'K' + table + '\0' + key. */
struct seen_entry {
        char *s;
        size_t len;
        uint64_t hash;
};

/* Open-addressing hash set, so duplicate detection stays linear on big input. */
struct seen_set {
        struct seen_entry *slots;
        size_t cap; /* power of two, or 0 */
        size_t n;
};

struct parser {
        const char *p;
        const char *end;
        unsigned line;
        char *errbuf;
        size_t errlen;
        char *table; /* current table name; "" before the first header */
        struct seen_set seen;
};

/* Growable byte buffer for decoded strings; never larger than the input. */
struct sbuf {
        char *s;
        size_t len;
        size_t cap;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
        char msg[256];
        va_list ap;
        int n;

        if (ps->errbuf == NULL || ps->errlen == 0)
                return KL_ERR_INVAL;
        va_start(ap, fmt);
        n = vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (n < 0)
                msg[0] = '\0';
        /* Truncation of the message is acceptable; the line number comes first. */
        (void)snprintf(ps->errbuf, ps->errlen, "%u: %s", ps->line, msg);
        return KL_ERR_INVAL;
}

static int sbuf_add(struct sbuf *b, const char *data, size_t n)
{
        if (n > SIZE_MAX - b->len - 1)
                return KL_ERR_NOMEM;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 32;
                char *s;

                while (cap < b->len + n + 1)
                        cap = cap > SIZE_MAX / 2 ? b->len + n + 1 : cap * 2;
                /* not realloc: a string may be a password (tpm_ownerpassword) */
                if ((s = kl_mem_grow_wiped(b->s, b->len, b->cap, cap)) == NULL)
                        return KL_ERR_NOMEM;
                b->s = s;
                b->cap = cap;
        }
        memcpy(b->s + b->len, data, n);
        b->len += n;
        b->s[b->len] = '\0';
        return 0;
}

static void sbuf_wipe(struct sbuf *b)
{
        if (b->s != NULL)
                explicit_bzero(b->s, b->len);
        free(b->s);
        b->s = NULL;
        b->len = b->cap = 0;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
        uint64_t h = 14695981039346656037ull; /* FNV-1a */

        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char)s[i];
                h *= 1099511628211ull;
        }
        return h;
}

static void seen_free(struct seen_set *set)
{
        for (size_t i = 0; i < set->cap; i++)
                free(set->slots[i].s);
        free(set->slots);
        set->slots = NULL;
        set->cap = set->n = 0;
}

static struct seen_entry *seen_slot(struct seen_entry *slots, size_t cap, const char *s, size_t len,
                                    uint64_t hash)
{
        size_t i = (size_t)hash & (cap - 1);

        for (;;) {
                struct seen_entry *e = &slots[i];

                if (e->s == NULL || (e->hash == hash && e->len == len && memcmp(e->s, s, len) == 0))
                        return e;
                i = (i + 1) & (cap - 1);
        }
}

static bool seen_contains(const struct seen_set *set, const char *s, size_t len)
{
        if (set->cap == 0)
                return false;
        return seen_slot(set->slots, set->cap, s, len, hash_bytes(s, len))->s != NULL;
}

/* Takes ownership of s (freed on failure too). The caller checked it is new. */
static int seen_add(struct seen_set *set, char *s, size_t len)
{
        uint64_t hash = hash_bytes(s, len);
        struct seen_entry *e;

        if ((set->n + 1) * 2 > set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 64;
                struct seen_entry *slots = calloc(cap, sizeof(*slots));

                if (slots == NULL) {
                        free(s);
                        return KL_ERR_NOMEM;
                }
                for (size_t i = 0; i < set->cap; i++) {
                        struct seen_entry *old = &set->slots[i];

                        if (old->s != NULL)
                                *seen_slot(slots, cap, old->s, old->len, old->hash) = *old;
                }
                free(set->slots);
                set->slots = slots;
                set->cap = cap;
        }
        e = seen_slot(set->slots, set->cap, s, len, hash);
        e->s = s;
        e->len = len;
        e->hash = hash;
        set->n++;
        return 0;
}

/* Builds kind + a [+ '\0' + b]; NULL on ENOMEM. */
static char *seen_name(char kind, const char *a, const char *b, size_t *ret_len)
{
        size_t la = strlen(a), lb = b ? strlen(b) + 1 : 0;
        char *s = malloc(1 + la + lb + 1);

        if (s == NULL)
                return NULL;
        s[0] = kind;
        memcpy(s + 1, a, la);
        if (b != NULL) {
                s[1 + la] = '\0';
                memcpy(s + 2 + la, b, lb - 1);
        }
        s[1 + la + lb] = '\0';
        *ret_len = 1 + la + lb;
        return s;
}

/*
 * Records a table ('T', table) or key ('K', table, key) as defined.
 * KL_ERR_EXISTS when it already was: the caller words the error.
 */
static int claim_name(struct parser *ps, char kind, const char *a, const char *b)
{
        size_t idlen;
        char *id = seen_name(kind, a, b, &idlen);

        if (id == NULL)
                return KL_ERR_NOMEM;
        if (seen_contains(&ps->seen, id, idlen)) {
                free(id);
                return KL_ERR_EXISTS;
        }
        if (ps->seen.n >= MAX_KEYS) {
                free(id);
                return fail(ps, "more than %u keys and tables", MAX_KEYS);
        }
        return seen_add(&ps->seen, id, idlen);
}

static void value_clear(struct kl_toml_value *v)
{
        if (v->type == KL_TOML_STRING) {
                if (v->u.str.ptr != NULL)
                        explicit_bzero(v->u.str.ptr, v->u.str.len); /* may be a password */
                free(v->u.str.ptr);
        } else if (v->type == KL_TOML_ARRAY) {
                /* Recursion is bounded by the parse depth limit. */
                for (size_t i = 0; i < v->u.arr.n; i++)
                        value_clear(&v->u.arr.items[i]);
                free(v->u.arr.items);
        }
        memset(v, 0, sizeof(*v));
        v->type = KL_TOML_BOOL;
}

static bool at_end(const struct parser *ps)
{
        return ps->p >= ps->end;
}

static int peek(const struct parser *ps)
{
        return at_end(ps) ? -1 : (unsigned char)*ps->p;
}

static bool is_bare_key_char(int c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static bool is_control(unsigned char c)
{
        return (c < 0x20 && c != '\t') || c == 0x7f;
}

/*
 * Length of the well-formed UTF-8 sequence at s (1-4), or 0 if it is not one
 * (overlong forms, surrogates and code points above U+10FFFF included).
 */
static size_t utf8_seq_len(const unsigned char *s, const unsigned char *end)
{
        size_t avail = (size_t)(end - s), n;
        uint32_t cp, min;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                n = 2;
                cp = s[0] & 0x1fu;
                min = 0x80;
        } else if ((s[0] & 0xf0) == 0xe0) {
                n = 3;
                cp = s[0] & 0x0fu;
                min = 0x800;
        } else if ((s[0] & 0xf8) == 0xf0) {
                n = 4;
                cp = s[0] & 0x07u;
                min = 0x10000;
        } else {
                return 0;
        }
        if (avail < n)
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return n;
}

static void skip_ws(struct parser *ps)
{
        while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t'))
                ps->p++;
}

/* A '#' comment up to (not including) the end of the line. */
static int skip_comment(struct parser *ps)
{
        if (peek(ps) != '#')
                return 0;
        ps->p++;
        while (!at_end(ps) && *ps->p != '\n') {
                const unsigned char *u = (const unsigned char *)ps->p;
                size_t n;

                if (*u == '\r' && ps->end - ps->p >= 2 && ps->p[1] == '\n')
                        break;
                if (is_control(*u))
                        return fail(ps, "control character in comment");
                if ((n = utf8_seq_len(u, (const unsigned char *)ps->end)) == 0)
                        return fail(ps, "invalid UTF-8 in comment");
                ps->p += n;
        }
        return 0;
}

/* Consumes one line ending (LF or CRLF); false if there is none here. */
static bool eat_newline(struct parser *ps)
{
        if (peek(ps) == '\n') {
                ps->p++;
                ps->line++;
                return true;
        }
        if (peek(ps) == '\r' && ps->end - ps->p >= 2 && ps->p[1] == '\n') {
                ps->p += 2;
                ps->line++;
                return true;
        }
        return false;
}

/* Whitespace, an optional comment, then the end of the line or of the input. */
static int expect_eol(struct parser *ps, const char *after)
{
        int r;

        skip_ws(ps);
        if ((r = skip_comment(ps)) < 0)
                return r;
        if (at_end(ps) || eat_newline(ps))
                return 0;
        if (peek(ps) == '\r')
                return fail(ps, "carriage return without line feed");
        return fail(ps, "unexpected text after %s", after);
}

/* Inside arrays: whitespace, comments and newlines in any order. */
static int skip_ws_nl(struct parser *ps)
{
        int r;

        for (;;) {
                skip_ws(ps);
                if ((r = skip_comment(ps)) < 0)
                        return r;
                if (!eat_newline(ps))
                        return 0;
        }
}

static int add_codepoint(struct sbuf *b, uint32_t cp)
{
        char u[4];
        size_t n;

        if (cp < 0x80) {
                u[0] = (char)cp;
                n = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xc0 | (cp >> 6));
                u[1] = (char)(0x80 | (cp & 0x3f));
                n = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | (cp >> 12));
                u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[2] = (char)(0x80 | (cp & 0x3f));
                n = 3;
        } else {
                u[0] = (char)(0xf0 | (cp >> 18));
                u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                u[3] = (char)(0x80 | (cp & 0x3f));
                n = 4;
        }
        return sbuf_add(b, u, n);
}

/* After the backslash of a basic string. */
static int parse_escape(struct parser *ps, struct sbuf *b)
{
        int c = peek(ps);
        size_t ndigits;
        uint32_t cp = 0;
        char ch;

        switch (c) {
        case 'b':
                ch = '\b';
                break;
        case 't':
                ch = '\t';
                break;
        case 'n':
                ch = '\n';
                break;
        case 'f':
                ch = '\f';
                break;
        case 'r':
                ch = '\r';
                break;
        case '"':
                ch = '"';
                break;
        case '\\':
                ch = '\\';
                break;
        case 'u':
        case 'U':
                ndigits = c == 'u' ? 4 : 8;
                ps->p++;
                if ((size_t)(ps->end - ps->p) < ndigits)
                        return fail(ps, "truncated \\%c escape", c);
                for (size_t i = 0; i < ndigits; i++) {
                        int d = kl_hex_digit_value((unsigned char)ps->p[i]);

                        if (d < 0)
                                return fail(ps, "invalid \\%c escape: expected %zu hex digits", c,
                                            ndigits);
                        if (cp > 0x10ffffu)
                                continue; /* already out of range; keep scanning digits */
                        cp = (cp << 4) | (uint32_t)d;
                }
                ps->p += ndigits;
                if (cp == 0)
                        return fail(ps, "\\u0000 (NUL) is not allowed in strings");
                if (cp >= 0xd800 && cp <= 0xdfff)
                        return fail(ps, "invalid \\%c escape: surrogate code point", c);
                if (cp > 0x10ffff)
                        return fail(ps, "invalid \\%c escape: beyond U+10FFFF", c);
                return add_codepoint(b, cp);
        case -1:
                return fail(ps, "unterminated string");
        default:
                if (c >= 0x21 && c < 0x7f)
                        return fail(ps, "invalid escape sequence '\\%c'", c);
                return fail(ps, "invalid escape sequence (byte 0x%02x after '\\')", c);
        }
        ps->p++;
        return sbuf_add(b, &ch, 1);
}

/* A basic ("...") or literal ('...') single-line string at ps->p. */
static int parse_string(struct parser *ps, char **ret_s, size_t *ret_len)
{
        char quote = *ps->p;
        struct sbuf b = {NULL, 0, 0};
        int r;

        if (ps->end - ps->p >= 3 && ps->p[1] == quote && ps->p[2] == quote) {
                r = fail(ps, "multi-line strings are not supported");
                goto out;
        }
        ps->p++;
        if ((r = sbuf_add(&b, "", 0)) < 0)
                goto out;
        for (;;) {
                const unsigned char *u = (const unsigned char *)ps->p;
                size_t n;

                if (at_end(ps) || *u == '\n' || *u == '\r') {
                        r = fail(ps, "unterminated string");
                        goto out;
                }
                if (*u == (unsigned char)quote) {
                        ps->p++;
                        break;
                }
                if (*u == '\\' && quote == '"') {
                        ps->p++;
                        if ((r = parse_escape(ps, &b)) < 0)
                                goto out;
                        continue;
                }
                if (is_control(*u)) {
                        r = fail(ps, "control character 0x%02x in string", *u);
                        goto out;
                }
                if ((n = utf8_seq_len(u, (const unsigned char *)ps->end)) == 0) {
                        r = fail(ps, "invalid UTF-8 in string");
                        goto out;
                }
                if ((r = sbuf_add(&b, ps->p, n)) < 0)
                        goto out;
                ps->p += n;
        }
        *ret_s = b.s;
        *ret_len = b.len;
        b.s = NULL;
        r = 0;
out:
        sbuf_wipe(&b);
        return r;
}

static int parse_key(struct parser *ps, char **ret_key)
{
        const char *start = ps->p;
        size_t len;
        char *k;

        if (peek(ps) == '"' || peek(ps) == '\'')
                return parse_string(ps, ret_key, &len);
        while (!at_end(ps) && is_bare_key_char((unsigned char)*ps->p))
                ps->p++;
        if (ps->p == start)
                return fail(ps, "expected a key");
        len = (size_t)(ps->p - start);
        if ((k = malloc(len + 1)) == NULL)
                return KL_ERR_NOMEM;
        memcpy(k, start, len);
        k[len] = '\0';
        *ret_key = k;
        return 0;
}

/* True if the text at ps->p starts with word followed by a non-key character. */
static bool match_word(const struct parser *ps, const char *word)
{
        size_t n = strlen(word);

        if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
                return false;
        return (size_t)(ps->end - ps->p) == n || !is_bare_key_char((unsigned char)ps->p[n]);
}

static int parse_integer(struct parser *ps, int64_t *ret)
{
        bool neg = false, any = false, prev_digit = false;
        uint64_t u = 0, limit;
        const char *digits;
        int c;

        if (peek(ps) == '+' || peek(ps) == '-') {
                neg = *ps->p == '-';
                ps->p++;
        }
        if (match_word(ps, "inf") || match_word(ps, "nan"))
                return fail(ps, "floats are not supported");
        c = peek(ps);
        if (c < '0' || c > '9')
                return fail(ps, "invalid value");
        digits = ps->p;
        if (c == '0' && ps->end - ps->p >= 2 &&
            (ps->p[1] == 'x' || ps->p[1] == 'o' || ps->p[1] == 'b'))
                return fail(ps, "only decimal integers are supported");
        limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (;;) {
                c = peek(ps);
                if (c >= '0' && c <= '9') {
                        unsigned d = (unsigned)(c - '0');

                        if (u > (limit - d) / 10)
                                return fail(ps, "integer out of range");
                        u = u * 10 + d;
                        any = prev_digit = true;
                } else if (c == '_') {
                        if (!prev_digit)
                                return fail(ps, "'_' must stand between digits");
                        prev_digit = false;
                } else {
                        break;
                }
                ps->p++;
        }
        if (!any || !prev_digit)
                return fail(ps, "'_' must stand between digits");
        if (digits[0] == '0' && ps->p - digits > 1)
                return fail(ps, "leading zeros are not allowed");
        c = peek(ps);
        if (c == '.' || c == 'e' || c == 'E')
                return fail(ps, "floats are not supported");
        if (c == '-' || c == ':')
                return fail(ps, "dates and times are not supported");
        if (c != -1 && is_bare_key_char(c))
                return fail(ps, "invalid integer");
        if (!neg)
                *ret = (int64_t)u;
        else if (u == (uint64_t)INT64_MAX + 1)
                *ret = INT64_MIN;
        else
                *ret = -(int64_t)u;
        return 0;
}

static int parse_value(struct parser *ps, struct kl_toml_value *v, unsigned depth);

/* At '['; depth is this array's nesting level (1 for a top-level array). */
static int parse_array(struct parser *ps, struct kl_toml_value *v, unsigned depth)
{
        struct kl_toml_value *items = NULL;
        size_t n = 0, cap = 0;
        int r;

        if (depth > KL_TOML_MAX_DEPTH) {
                r = fail(ps, "arrays nested deeper than %d levels", KL_TOML_MAX_DEPTH);
                goto out;
        }
        ps->p++;
        for (;;) {
                if ((r = skip_ws_nl(ps)) < 0)
                        goto out;
                if (at_end(ps)) {
                        r = fail(ps, "unterminated array");
                        goto out;
                }
                if (*ps->p == ']') {
                        ps->p++;
                        break;
                }
                if (n == MAX_ARRAY_ITEMS) {
                        r = fail(ps, "array longer than %u items", MAX_ARRAY_ITEMS);
                        goto out;
                }
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 8;
                        struct kl_toml_value *t = reallocarray(items, ncap, sizeof(*t));

                        if (t == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        items = t;
                        cap = ncap;
                }
                if ((r = parse_value(ps, &items[n], depth)) < 0)
                        goto out;
                n++;
                if ((r = skip_ws_nl(ps)) < 0)
                        goto out;
                if (peek(ps) == ',') {
                        ps->p++;
                } else if (peek(ps) == ']') {
                        ps->p++;
                        break;
                } else if (at_end(ps)) {
                        r = fail(ps, "unterminated array");
                        goto out;
                } else {
                        r = fail(ps, "expected ',' or ']' in array");
                        goto out;
                }
        }
        v->type = KL_TOML_ARRAY;
        v->u.arr.items = items;
        v->u.arr.n = n;
        items = NULL;
        n = 0;
        r = 0;
out:
        for (size_t i = 0; i < n; i++)
                value_clear(&items[i]);
        free(items);
        return r;
}

/* depth: nesting level of the enclosing array (0 at top level). */
static int parse_value(struct parser *ps, struct kl_toml_value *v, unsigned depth)
{
        int c = peek(ps), r;

        memset(v, 0, sizeof(*v));
        v->type = KL_TOML_BOOL;
        switch (c) {
        case '"':
        case '\'':
                if ((r = parse_string(ps, &v->u.str.ptr, &v->u.str.len)) < 0)
                        return r;
                v->type = KL_TOML_STRING;
                return 0;
        case '[':
                return parse_array(ps, v, depth + 1);
        case '{':
                return fail(ps, "inline tables are not supported");
        case -1:
        case '\n':
        case '\r':
        case '#':
                return fail(ps, "missing value");
        default:
                break;
        }
        if (match_word(ps, "true") || match_word(ps, "false")) {
                v->u.b = *ps->p == 't';
                ps->p += v->u.b ? 4 : 5;
                return 0;
        }
        if (c == '+' || c == '-' || (c >= '0' && c <= '9') || match_word(ps, "inf") ||
            match_word(ps, "nan")) {
                if ((r = parse_integer(ps, &v->u.i)) < 0)
                        return r;
                v->type = KL_TOML_INT;
                return 0;
        }
        return fail(ps, "invalid value");
}

static int parse_table_header(struct parser *ps)
{
        char *name = NULL, *id = NULL;
        size_t idlen;
        int r;

        ps->p++;
        if (peek(ps) == '[') {
                r = fail(ps, "arrays of tables ([[...]]) are not supported");
                goto out;
        }
        skip_ws(ps);
        if ((r = parse_key(ps, &name)) < 0)
                goto out;
        skip_ws(ps);
        if (peek(ps) == '.') {
                r = fail(ps, "dotted table names are not supported");
                goto out;
        }
        if (peek(ps) != ']') {
                r = fail(ps, "expected ']' after table name");
                goto out;
        }
        ps->p++;
        if ((r = claim_name(ps, 'T', name, NULL)) == KL_ERR_EXISTS)
                r = fail(ps, "duplicate table [%.64s]", name);
        if (r < 0)
                goto out;
        /* A root key of the same name would already define it. */
        if ((id = seen_name('K', "", name, &idlen)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if (seen_contains(&ps->seen, id, idlen)) {
                r = fail(ps, "table [%.64s] redefines key '%.64s'", name, name);
                goto out;
        }
        if ((r = expect_eol(ps, "table header")) < 0)
                goto out;
        free(ps->table);
        ps->table = name;
        name = NULL;
        r = 0;
out:
        free(id);
        free(name);
        return r;
}

static int parse_keyval(struct parser *ps, kl_toml_cb cb, void *ctx)
{
        struct kl_toml_value v = {.type = KL_TOML_BOOL};
        char *key = NULL;
        unsigned key_line = ps->line;
        int r;

        if ((r = parse_key(ps, &key)) < 0)
                goto out;
        skip_ws(ps);
        if (peek(ps) == '.') {
                r = fail(ps, "dotted keys are not supported");
                goto out;
        }
        if (peek(ps) != '=') {
                r = fail(ps, "expected '=' after key '%.64s'", key);
                goto out;
        }
        ps->p++;
        skip_ws(ps);
        if ((r = claim_name(ps, 'K', ps->table, key)) == KL_ERR_EXISTS)
                r = fail(ps, "duplicate key '%.64s'", key);
        if (r < 0)
                goto out;
        if ((r = parse_value(ps, &v, 0)) < 0)
                goto out;
        if ((r = expect_eol(ps, "value")) < 0)
                goto out;
        if (cb != NULL && (r = cb(ctx, ps->table, key, &v, key_line)) != 0) {
                if (ps->errbuf != NULL && ps->errlen > 0)
                        (void)snprintf(ps->errbuf, ps->errlen, "%u: %s", key_line, kl_err_str(r));
                goto out;
        }
        r = 0;
out:
        value_clear(&v);
        free(key);
        return r;
}

int kl_toml_parse(const char *text, size_t len, kl_toml_cb cb, void *ctx, char *errbuf,
                  size_t errlen)
{
        struct parser ps = {.p = "", .line = 1, .errbuf = errbuf, .errlen = errlen};
        int r;

        if (errbuf != NULL && errlen > 0)
                errbuf[0] = '\0';
        ps.end = ps.p;
        if (text == NULL && len > 0)
                return fail(&ps, "no input");
        if (text != NULL) {
                ps.p = text;
                ps.end = text + len; /* never NULL + 0 */
        }
        if (len > KL_TOML_MAX_INPUT)
                return fail(&ps, "input larger than %u bytes", KL_TOML_MAX_INPUT);
        if ((ps.table = strdup("")) == NULL)
                return KL_ERR_NOMEM;
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
                ps.p += 3; /* UTF-8 byte order mark */
        for (;;) {
                skip_ws(&ps);
                if (at_end(&ps))
                        break;
                if (*ps.p == '[')
                        r = parse_table_header(&ps);
                else if (*ps.p == '#' || *ps.p == '\n' || *ps.p == '\r')
                        r = expect_eol(&ps, "comment");
                else
                        r = parse_keyval(&ps, cb, ctx);
                if (r != 0)
                        goto out;
        }
        r = 0;
out:
        seen_free(&ps.seen);
        free(ps.table);
        return r;
}
