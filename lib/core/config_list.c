/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keylime's list syntax for option values (config.h): used for the
 * configuration and for lists a payload brings (action_list).
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static bool is_list_sep(char c)
{
        return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
        char *item;

        if (*n + 1 >= *cap) {
                size_t ncap = *cap ? *cap * 2 : 8;
                char **t = reallocarray(*v, ncap, sizeof(*t));

                if (t == NULL)
                        return KL_ERR_NOMEM;
                *v = t;
                *cap = ncap;
        }
        if ((item = strndup(s, len)) == NULL)
                return KL_ERR_NOMEM;
        (*v)[(*n)++] = item;
        (*v)[*n] = NULL;
        return 0;
}

/*
 * Unlike the Rust list parser, quotes around an item are removed (Rust keeps
 * them, which makes quoted paths unusable), so Python-era values such as
 * ['default'] also work. An unterminated quote is an error.
 */
int kl_config_parse_list(const char *s, char ***ret_items, size_t *ret_n)
{
        const char *p, *end;
        char **v = NULL;
        size_t n = 0, cap = 0;
        int r;

        if (s == NULL || ret_items == NULL)
                return KL_ERR_INVAL;
        p = s;
        end = s + strlen(s);
        while (p < end && is_list_sep(*p) && *p != ',')
                p++;
        while (end > p && is_list_sep(end[-1]) && end[-1] != ',')
                end--;
        if (end - p >= 2 && p[0] == '[' && end[-1] == ']') {
                p++;
                end--;
        }
        if ((v = calloc(1, sizeof(*v))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        cap = 1;
        for (;;) {
                const char *start;

                while (p < end && is_list_sep(*p))
                        p++;
                if (p == end)
                        break;
                if (*p == '\'' || *p == '"') {
                        const char *close = memchr(p + 1, *p, (size_t)(end - p - 1));

                        if (close == NULL || (close + 1 < end && !is_list_sep(close[1]))) {
                                r = KL_ERR_INVAL;
                                goto out;
                        }
                        start = p + 1;
                        p = close + 1;
                        if (close > start &&
                            (r = strv_push(&v, &n, &cap, start, (size_t)(close - start))) < 0)
                                goto out;
                        continue;
                }
                start = p;
                while (p < end && !is_list_sep(*p))
                        p++;
                if ((r = strv_push(&v, &n, &cap, start, (size_t)(p - start))) < 0)
                        goto out;
        }
        *ret_items = v;
        if (ret_n != NULL)
                *ret_n = n;
        v = NULL;
        r = 0;
out:
        kl_strv_free(v);
        return r;
}

void kl_strv_free(char **v)
{
        if (v == NULL)
                return;
        for (char **p = v; *p != NULL; p++)
                free(*p);
        free(v);
}
