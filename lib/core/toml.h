/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A TOML subset parser, enough for Keylime's agent.conf: [table] headers,
 * bare and quoted keys, basic and literal strings (single line; escapes
 * \" \\ \n \t \r \b \f \uXXXX \UXXXXXXXX), decimal integers (with '_'
 * separators and sign), booleans, arrays of those (nested, multi-line,
 * trailing comma), comments. Anything else (floats, dates, inline tables,
 * multi-line strings, dotted keys) is rejected with a line-numbered error.
 *
 * Written by hand because Debian packages no C TOML library. Input is
 * untrusted: lengths are bounded and nothing recurses deeper than
 * KL_TOML_MAX_DEPTH. Fuzzed by tests/fuzz/fuzz_toml.c.
 */
#ifndef KL_TOML_H
#define KL_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_TOML_MAX_DEPTH 8
#define KL_TOML_MAX_INPUT (1u << 20)

enum kl_toml_type {
        KL_TOML_STRING,
        KL_TOML_INT,
        KL_TOML_BOOL,
        KL_TOML_ARRAY,
};

struct kl_toml_value {
        enum kl_toml_type type;
        union {
                struct {
                        char *ptr; /* NUL-terminated; embedded NULs are rejected */
                        size_t len;
                } str;
                int64_t i;
                bool b;
                struct {
                        struct kl_toml_value *items;
                        size_t n;
                } arr;
        } u;
};

/*
 * Called once per key = value. table is "" before the first header; the
 * value is lent for the duration of the call. Return 0 to go on, or a
 * negative KL_ERR_* to stop parsing (it is returned by kl_toml_parse).
 */
typedef int (*kl_toml_cb)(void *ctx, const char *table, const char *key,
                          const struct kl_toml_value *value, unsigned line);

/*
 * Parses text[0..len). On a syntax error returns KL_ERR_INVAL and writes
 * "LINE: message" into errbuf (always NUL-terminated when errlen > 0).
 * Duplicate keys within a table are an error, as in TOML.
 */
int kl_toml_parse(const char *text, size_t len, kl_toml_cb cb, void *ctx, char *errbuf,
                  size_t errlen);

#endif
