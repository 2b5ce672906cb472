/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IMA measurement list replay and the Keylime runtime-policy subset (see ima.h).
 *
 * Owns nothing beyond the policy it builds. Each line of the ASCII list is turned back into
 * the template data the kernel hashed (security/integrity/ima/ima_template_lib.c formats:
 * d-ng is "alg:" NUL digest, n-ng is the name with its NUL, every field u32le-length-prefixed
 * except for the legacy "ima" template), so the template hash column and the PCR 10 value can
 * be checked without trusting either. All parsing is on pointer + length; no line is ever
 * NUL-terminated in place, and no buffer is sized from a length the input states.
 * One job past 600 lines: the policy's lookups are what each replayed line is checked
 * against, so its parser and the replay share one representation.
 */
#include <limits.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "hash_alg.h"
#include "hex.h"
#include "ima.h"
#include "json.h"
#include "quote.h"
#include "uefi_log.h"

/* The legacy "ima" template hashes the name padded to IMA_EVENT_NAME_LEN_MAX + 1 bytes. */
#define IMA_NAME_PAD 256
/* Caps on policy contents, so a hostile policy cannot make us compile or store without end. */
#define POLICY_MAX_EXCLUDES  4096
#define POLICY_MAX_REGEX_LEN 4096
#define POLICY_MAX_PER_PATH  256
#define POLICY_MAX_PATHS     (16u * 1024u * 1024u)
/* How much of an untrusted name goes into an error message. */
#define WHY_NAME_MAX 160

struct pol_digest {
        uint8_t len;
        uint8_t d[KL_MAX_DIGEST_LEN];
};

struct pol_entry {
        char *path;
        size_t path_len;
        uint64_t hash;
        struct pol_digest *digests;
        size_t n_digests;
};

struct kl_ima_policy {
        struct pol_entry *entries; /* n_entries used */
        size_t n_entries;
        size_t *table;     /* open addressing: index + 1 into entries, 0 = empty */
        size_t table_size; /* power of two, at least twice n_entries */
        regex_t *excludes;
        size_t n_excludes;
        /* boot_aggregate values computed from the last measured-boot replay (see ima.h) */
        struct pol_digest boot[KL_IMA_BOOT_AGGREGATES_MAX];
        size_t n_boot;
};

/* FNV-1a: cheap and good enough for paths; the table is sized so chains stay short. */
static uint64_t path_hash(const char *s, size_t len)
{
        uint64_t h = 0xcbf29ce484222325ULL;
        size_t i;

        for (i = 0; i < len; i++) {
                h ^= (uint8_t)s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

/* Copies an untrusted name for an error message: capped, non-printables shown as '?'. */
static void safe_name(const char *s, size_t len, char out[WHY_NAME_MAX + 4])
{
        size_t i, n = len > WHY_NAME_MAX ? WHY_NAME_MAX : len;

        for (i = 0; i < n; i++)
                out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (n < len) {
                memcpy(out + n, "...", 3);
                n += 3;
        }
        out[n] = '\0';
}

static const struct pol_entry *policy_find(const struct kl_ima_policy *p, const char *path,
                                           size_t len)
{
        uint64_t h;
        size_t i, mask;

        if (p->table_size == 0)
                return NULL;
        h = path_hash(path, len);
        mask = p->table_size - 1;
        for (i = (size_t)h & mask; p->table[i] != 0; i = (i + 1) & mask) {
                const struct pol_entry *e = &p->entries[p->table[i] - 1];

                if (e->hash == h && e->path_len == len && memcmp(e->path, path, len) == 0)
                        return e;
        }
        return NULL;
}

void kl_ima_policy_free(struct kl_ima_policy *p)
{
        size_t i;

        if (p == NULL)
                return;
        for (i = 0; i < p->n_entries; i++) {
                free(p->entries[i].path);
                free(p->entries[i].digests);
        }
        free(p->entries);
        free(p->table);
        for (i = 0; i < p->n_excludes; i++)
                regfree(&p->excludes[i]);
        free(p->excludes);
        free(p);
}

static int parse_digest_list(const kl_json *arr, const char *path, struct pol_entry *e, char *why,
                             size_t why_len)
{
        size_t i, n;

        if (!kl_json_is(arr, KL_JSON_ARRAY)) {
                kl_why_set(why, why_len, "digests: %.200s: not an array", path);
                return KL_ERR_INVAL;
        }
        n = kl_json_length(arr);
        if (n > POLICY_MAX_PER_PATH) {
                kl_why_set(why, why_len, "digests: %.200s: more than %d digests", path,
                           POLICY_MAX_PER_PATH);
                return KL_ERR_TOO_LONG;
        }
        if (n > 0 && (e->digests = calloc(n, sizeof(*e->digests))) == NULL)
                return KL_ERR_NOMEM;
        for (i = 0; i < n; i++) {
                const kl_json *s = kl_json_at(arr, i);
                const char *hex;
                size_t hl;

                if (!kl_json_is(s, KL_JSON_STRING)) {
                        kl_why_set(why, why_len, "digests: %.200s: entry %zu is not a string", path,
                                   i);
                        return KL_ERR_INVAL;
                }
                hex = kl_json_string_value(s);
                hl = kl_json_string_length(s);
                if (hl < 2 || hl > 2 * KL_MAX_DIGEST_LEN ||
                    !kl_hex_decode_to(hex, hl, e->digests[i].d)) {
                        kl_why_set(why, why_len, "digests: %.200s: entry %zu is not a hex digest",
                                   path, i);
                        return KL_ERR_INVAL;
                }
                e->digests[i].len = (uint8_t)(hl / 2);
        }
        e->n_digests = n;
        return 0;
}

static int parse_digests(struct kl_ima_policy *p, const kl_json *digests, char *why, size_t why_len)
{
        size_t n, size = 2;
        const char *key;
        kl_json *val;
        int r;

        if (!kl_json_is(digests, KL_JSON_OBJECT)) {
                kl_why_set(why, why_len, "digests: not an object");
                return KL_ERR_INVAL;
        }
        n = kl_json_member_count(digests);
        if (n > POLICY_MAX_PATHS) {
                kl_why_set(why, why_len, "digests: more than %u paths", POLICY_MAX_PATHS);
                return KL_ERR_TOO_LONG;
        }
        while (size < 2 * n)
                size *= 2;
        if ((p->entries = calloc(n ? n : 1, sizeof(*p->entries))) == NULL ||
            (p->table = calloc(size, sizeof(*p->table))) == NULL)
                return KL_ERR_NOMEM;
        p->table_size = size;
        for (struct kl_json_iter it = kl_json_members(digests); kl_json_next(&it, &key, &val);) {
                struct pol_entry *e;
                size_t kl = strlen(key), i;

                if (p->n_entries >= n)
                        return KL_ERR_INTERNAL;
                e = &p->entries[p->n_entries++];
                if ((e->path = strndup(key, kl)) == NULL)
                        return KL_ERR_NOMEM;
                e->path_len = kl;
                e->hash = path_hash(key, kl);
                if ((r = parse_digest_list(val, key, e, why, why_len)) != 0)
                        return r;
                /* a parsed object's keys are unique, so no duplicate check is needed */
                for (i = (size_t)e->hash & (size - 1); p->table[i] != 0; i = (i + 1) & (size - 1))
                        ;
                p->table[i] = p->n_entries;
        }
        return 0;
}

/*
 * glibc's regcomp copies the tree of a subexpression for '+' and for every
 * counted repetition, so stacked quantifiers (".+++++") or '+'/{m,n} on
 * nested groups grow it exponentially: a hostile policy could exhaust memory
 * (found by fuzz_ima_policy). Path excludes need none of these; refuse them.
 * Returns NULL or what is wrong.
 */
#define POLICY_MAX_REPEAT 32

static const char *regex_untamed(const char *s)
{
        bool after_quant = false, after_group = false;

        for (; *s != '\0'; s++) {
                bool quant = false;

                if (*s == '\\') {
                        if (*++s == '\0')
                                break;
                } else if (*s == '[') {
                        /* bracket expression: ']' first is literal, [:class:] nests */
                        s++;
                        if (*s == '^')
                                s++;
                        if (*s == ']')
                                s++;
                        for (; *s != '\0' && *s != ']'; s++) {
                                if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
                                        const char *end = strchr(s + 2, s[1]);

                                        if (end == NULL || end[1] != ']')
                                                return NULL; /* regcomp reports it */
                                        s = end + 1;
                                }
                        }
                        if (*s == '\0')
                                return NULL;
                } else if (*s == '*' || *s == '+' || *s == '?') {
                        quant = true;
                } else if (*s == '{') {
                        char *end;
                        unsigned long lo = strtoul(s + 1, &end, 10), hi = lo;

                        if (*end == ',')
                                hi = end[1] == '}' ? ULONG_MAX : strtoul(end + 1, &end, 10);
                        if (lo > POLICY_MAX_REPEAT || (hi != ULONG_MAX && hi > POLICY_MAX_REPEAT))
                                return "a repetition count above 32";
                        quant = true;
                }
                if (after_group && (*s == '+' || *s == '{'))
                        return "'+' or a counted repetition after a group";
                if (quant && after_quant)
                        return "stacked quantifiers";
                after_quant = quant;
                after_group = *s == ')';
        }
        return NULL;
}

static int parse_excludes(struct kl_ima_policy *p, const kl_json *ex, char *why, size_t why_len)
{
        size_t i, n;

        if (!kl_json_is(ex, KL_JSON_ARRAY)) {
                kl_why_set(why, why_len, "excludes: not an array");
                return KL_ERR_INVAL;
        }
        n = kl_json_length(ex);
        if (n > POLICY_MAX_EXCLUDES) {
                kl_why_set(why, why_len, "excludes: more than %d entries", POLICY_MAX_EXCLUDES);
                return KL_ERR_TOO_LONG;
        }
        if (n > 0 && (p->excludes = calloc(n, sizeof(*p->excludes))) == NULL)
                return KL_ERR_NOMEM;
        for (i = 0; i < n; i++) {
                const kl_json *s = kl_json_at(ex, i);
                char pat[POLICY_MAX_REGEX_LEN + 8];
                const char *bad;
                size_t sl;
                int rc;

                if (!kl_json_is(s, KL_JSON_STRING)) {
                        kl_why_set(why, why_len, "excludes: entry %zu is not a string", i);
                        return KL_ERR_INVAL;
                }
                sl = kl_json_string_length(s);
                if (sl > POLICY_MAX_REGEX_LEN || memchr(kl_json_string_value(s), 0, sl)) {
                        kl_why_set(why, why_len, "excludes: entry %zu is too long or has NUL", i);
                        return KL_ERR_INVAL;
                }
                if ((bad = regex_untamed(kl_json_string_value(s))) != NULL) {
                        kl_why_set(why, why_len, "excludes: entry %zu: %s is not supported", i,
                                   bad);
                        return KL_ERR_INVAL;
                }
                /* Keylime applies excludes with re.match: anchored at the start only */
                (void)snprintf(pat, sizeof(pat), "^(%s)", kl_json_string_value(s));
                if ((rc = regcomp(&p->excludes[i], pat, REG_EXTENDED | REG_NOSUB)) != 0) {
                        char msg[128];

                        regerror(rc, &p->excludes[i], msg, sizeof(msg));
                        kl_why_set(why, why_len, "excludes: entry %zu: %s", i, msg);
                        return KL_ERR_INVAL;
                }
                p->n_excludes++;
        }
        return 0;
}

int kl_ima_policy_parse(const char *json, size_t len, struct kl_ima_policy **ret, char *why,
                        size_t why_len)
{
        kl_json *root = NULL, *val;
        struct kl_ima_policy *p = NULL;
        int r = KL_ERR_INVAL;

        kl_why_set(why, why_len, "%s", "");
        if (json == NULL || ret == NULL)
                goto out;
        if (len > KL_IMA_POLICY_MAX_LEN) {
                kl_why_set(why, why_len, "policy larger than %u bytes", KL_IMA_POLICY_MAX_LEN);
                r = KL_ERR_TOO_LONG;
                goto out;
        }
        if ((r = kl_json_parse_object(json, len, &root)) != 0) {
                kl_why_set(why, why_len, "not a JSON object");
                goto out;
        }
        if ((p = calloc(1, sizeof(*p))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        if ((val = kl_json_member(root, "digests")) != NULL &&
            (r = parse_digests(p, val, why, why_len)) != 0)
                goto out;
        if ((val = kl_json_member(root, "excludes")) != NULL &&
            (r = parse_excludes(p, val, why, why_len)) != 0)
                goto out;
        *ret = p;
        p = NULL;
        r = 0;
out:
        kl_ima_policy_free(p);
        kl_json_free(root);
        return r;
}

void kl_ima_replay_init(struct kl_ima_replay *st, uint16_t bank_alg)
{
        memset(st, 0, sizeof(*st));
        st->bank_alg = bank_alg;
        st->digest_len = kl_hash_alg_digest_len(bank_alg); /* 0: a bank we cannot replay */
}

/* One line split into its columns; every pointer points into the caller's text. */
struct ima_line {
        const char *thash, *tname, *digest, *name, *extra; /* extra: sig or buf hex */
        size_t thash_len, tname_len, digest_len, name_len, extra_len;
        bool has_extra;
        bool violation;
        uint8_t file_digest[KL_MAX_DIGEST_LEN];
        size_t file_digest_len;
        const char *alg; /* "sha256" in "sha256:hex"; NULL for the "ima" template */
        size_t alg_len;
};

enum tmpl { TMPL_IMA, TMPL_IMA_NG, TMPL_IMA_SIG, TMPL_IMA_BUF };

static void put_u32le(uint8_t *p, size_t v)
{
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
        p[3] = (uint8_t)(v >> 24);
}

/*
 * Rebuilds the template data into buf (which holds at least line length + IMA_NAME_PAD + 64
 * bytes: every field is no longer than its text plus a 4-byte prefix and a NUL).
 */
static size_t build_template(enum tmpl t, const struct ima_line *l, bool with_extra, uint8_t *buf)
{
        size_t o = 0;

        if (t == TMPL_IMA) {
                memcpy(buf, l->file_digest, l->file_digest_len);
                o = l->file_digest_len;
                memset(buf + o, 0, IMA_NAME_PAD);
                memcpy(buf + o, l->name, l->name_len);
                return o + IMA_NAME_PAD;
        }
        /* d-ng: "alg:" NUL digest */
        put_u32le(buf, l->alg_len + 2 + l->file_digest_len);
        o = 4;
        memcpy(buf + o, l->alg, l->alg_len);
        o += l->alg_len;
        buf[o++] = ':';
        buf[o++] = '\0';
        memcpy(buf + o, l->file_digest, l->file_digest_len);
        o += l->file_digest_len;
        /* n-ng: name with its NUL */
        put_u32le(buf + o, l->name_len + 1);
        o += 4;
        memcpy(buf + o, l->name, l->name_len);
        o += l->name_len;
        buf[o++] = '\0';
        if (t == TMPL_IMA_NG)
                return o;
        /* sig or buf: raw bytes, possibly empty (ima-sig of an unsigned file) */
        if (with_extra) {
                put_u32le(buf + o, l->extra_len / 2);
                (void)kl_hex_decode_to(l->extra, l->extra_len, buf + o + 4);
                o += 4 + l->extra_len / 2;
        } else {
                put_u32le(buf + o, 0);
                o += 4;
        }
        return o;
}

static const char *next_field(const char *p, const char *end, size_t *ret_len)
{
        const char *sp = memchr(p, ' ', (size_t)(end - p));

        *ret_len = (size_t)((sp ? sp : end) - p);
        return sp ? sp + 1 : end;
}

/* Splits and checks the columns of one line (without its newline). */
static int parse_line(const char *s, size_t len, enum tmpl *ret_t, struct ima_line *l, char *why,
                      size_t why_len, uint64_t lineno)
{
        const char *end = s + len, *p = s, *pcr = s, *colon;
        size_t pcr_len, i;

        memset(l, 0, sizeof(*l));
        if (len == 0 || memchr(s, '\0', len) != NULL || memchr(s, '\r', len) != NULL) {
                kl_why_set(why, why_len, "line %llu: empty or contains NUL/CR",
                           (unsigned long long)lineno);
                return KL_ERR_INVAL;
        }
        p = next_field(p, end, &pcr_len);
        l->thash = p;
        p = next_field(p, end, &l->thash_len);
        l->tname = p;
        p = next_field(p, end, &l->tname_len);
        l->digest = p;
        p = next_field(p, end, &l->digest_len);
        if (pcr_len != 2 || memcmp(pcr, "10", 2) != 0) {
                kl_why_set(why, why_len, "line %llu: PCR is not 10", (unsigned long long)lineno);
                return KL_ERR_INVAL;
        }
        if (l->thash_len != 2 * KL_SHA1_LEN || !kl_hex_is(l->thash, l->thash_len) || p >= end) {
                kl_why_set(why, why_len, "line %llu: malformed template hash or missing name",
                           (unsigned long long)lineno);
                return KL_ERR_INVAL;
        }
        l->violation = true;
        for (i = 0; i < l->thash_len; i++) {
                if (l->thash[i] != '0')
                        l->violation = false;
        }
        if (l->tname_len == 3 && memcmp(l->tname, "ima", 3) == 0)
                *ret_t = TMPL_IMA;
        else if (l->tname_len == 6 && memcmp(l->tname, "ima-ng", 6) == 0)
                *ret_t = TMPL_IMA_NG;
        else if (l->tname_len == 7 && memcmp(l->tname, "ima-sig", 7) == 0)
                *ret_t = TMPL_IMA_SIG;
        else if (l->tname_len == 7 && memcmp(l->tname, "ima-buf", 7) == 0)
                *ret_t = TMPL_IMA_BUF;
        else {
                kl_why_set(why, why_len, "line %llu: unsupported template",
                           (unsigned long long)lineno);
                return KL_ERR_INVAL;
        }
        /* digest column: plain SHA-1 hex for "ima", "alg:hex" for the others */
        if (*ret_t == TMPL_IMA) {
                if (l->digest_len != 2 * KL_SHA1_LEN)
                        goto bad_digest;
                l->file_digest_len = KL_SHA1_LEN;
                if (!kl_hex_decode_to(l->digest, l->digest_len, l->file_digest))
                        goto bad_digest;
        } else {
                colon = memchr(l->digest, ':', l->digest_len);
                if (colon == NULL || colon == l->digest)
                        goto bad_digest;
                l->alg = l->digest;
                l->alg_len = (size_t)(colon - l->digest);
                l->file_digest_len = (l->digest_len - l->alg_len - 1) / 2;
                if (l->alg_len > 16 || l->file_digest_len == 0 ||
                    l->file_digest_len > KL_MAX_DIGEST_LEN ||
                    !kl_hex_decode_to(colon + 1, l->digest_len - l->alg_len - 1, l->file_digest))
                        goto bad_digest;
        }
        /* the name runs to the end of the line, except that sig/buf hex comes after it */
        l->name = p;
        l->name_len = (size_t)(end - p);
        if (*ret_t == TMPL_IMA_SIG || *ret_t == TMPL_IMA_BUF) {
                const char *sp = NULL, *q;

                for (q = end; q > p; q--) {
                        if (q[-1] == ' ') {
                                sp = q - 1;
                                break;
                        }
                }
                if (sp != NULL && kl_hex_is(sp + 1, (size_t)(end - sp - 1))) {
                        l->has_extra = true;
                        l->extra = sp + 1;
                        l->extra_len = (size_t)(end - sp - 1);
                        l->name_len = (size_t)(sp - p);
                } else if (*ret_t == TMPL_IMA_BUF) {
                        kl_why_set(why, why_len, "line %llu: ima-buf without buffer",
                                   (unsigned long long)lineno);
                        return KL_ERR_INVAL;
                }
        }
        if (*ret_t == TMPL_IMA && l->name_len >= IMA_NAME_PAD) {
                kl_why_set(why, why_len, "line %llu: name longer than %d bytes",
                           (unsigned long long)lineno, IMA_NAME_PAD - 1);
                return KL_ERR_INVAL;
        }
        return 0;
bad_digest:
        kl_why_set(why, why_len, "line %llu: malformed file digest", (unsigned long long)lineno);
        return KL_ERR_INVAL;
}

static bool policy_allows(const struct kl_ima_policy *p, const char *name, size_t name_len,
                          const uint8_t *d, size_t d_len)
{
        const struct pol_entry *e;
        char path[4096 + 1];
        size_t i;

        if (p == NULL)
                return true;
        /* boot_aggregate is a policy entry like any file, plus what the boot log gives */
        if (name_len == 14 && memcmp(name, "boot_aggregate", 14) == 0) {
                for (i = 0; i < p->n_boot; i++) {
                        if (p->boot[i].len == d_len && memcmp(p->boot[i].d, d, d_len) == 0)
                                return true;
                }
        }
        if ((e = policy_find(p, name, name_len)) != NULL) {
                for (i = 0; i < e->n_digests; i++) {
                        if (e->digests[i].len == d_len && memcmp(e->digests[i].d, d, d_len) == 0)
                                return true;
                }
        }
        /* regexec needs a C string; a path too long for Linux (PATH_MAX) is never excluded */
        if (p->n_excludes == 0 || name_len >= sizeof(path))
                return false;
        memcpy(path, name, name_len);
        path[name_len] = '\0';
        for (i = 0; i < p->n_excludes; i++) {
                if (regexec(&p->excludes[i], path, 0, NULL, 0) == 0)
                        return true;
        }
        return false;
}

/* H(PCR 0 || ... || PCR n-1) of one bank, for n = 8 and 10, added to p->boot. */
static int add_boot_aggregates(struct kl_ima_policy *p, const char *alg, const uint8_t *bank,
                               size_t dlen)
{
        static const size_t counts[] = {8, 10};
        size_t i, out_len = 0;
        bool extended = false;
        int r;

        for (i = 0; i < 10 * dlen; i++)
                extended |= bank[i] != 0;
        if (!extended) /* a bank the log's header does not list stays all zeros: no aggregate */
                return 0;
        for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
                struct pol_digest *d = &p->boot[p->n_boot];

                if ((r = kl_digest(alg, bank, counts[i] * dlen, d->d, &out_len)) != 0)
                        return r;
                d->len = (uint8_t)out_len;
                p->n_boot++;
        }
        return 0;
}

int kl_ima_policy_set_boot_aggregates(struct kl_ima_policy *p, const struct kl_uefi_pcrs *replay)
{
        int r;

        if (p == NULL)
                return KL_ERR_INVAL;
        p->n_boot = 0;
        if (replay == NULL)
                return 0;
        /* a bank is PCRs 0-23 back to back, so PCRs 0-9 are its first 10 digests */
        if ((r = add_boot_aggregates(p, "sha1", (const uint8_t *)replay->sha1, KL_SHA1_LEN)) != 0 ||
            (r = add_boot_aggregates(p, "sha256", (const uint8_t *)replay->sha256,
                                     sizeof(replay->sha256[0]))) != 0)
                p->n_boot = 0;
        return r;
}

static int check_line(struct kl_ima_replay *st, const char *bank, const char *s, size_t len,
                      const struct kl_ima_policy *policy, uint8_t *tbuf, char *why, size_t why_len)
{
        uint64_t lineno = st->entries + 1;
        struct ima_line l;
        enum tmpl t = TMPL_IMA_NG;
        uint8_t thash[KL_SHA1_LEN], got[KL_MAX_DIGEST_LEN], value[KL_MAX_DIGEST_LEN];
        uint8_t ext[2 * KL_MAX_DIGEST_LEN];
        size_t tlen, dlen = 0;
        int r;

        if ((r = parse_line(s, len, &t, &l, why, why_len, lineno)) != 0)
                return r;
        if (!kl_hex_decode_to(l.thash, l.thash_len, thash))
                return KL_ERR_INTERNAL;
        tlen = build_template(t, &l, l.has_extra, tbuf);
        if ((r = kl_digest("sha1", tbuf, tlen, got, &dlen)) != 0)
                return r;
        if (!l.violation && memcmp(got, thash, KL_SHA1_LEN) != 0 && t == TMPL_IMA_SIG &&
            l.has_extra) {
                /* "name hexword" can be a name with a space in an unsigned ima-sig entry */
                l.has_extra = false;
                l.name_len = (size_t)(l.extra + l.extra_len - l.name);
                tlen = build_template(t, &l, false, tbuf);
                if ((r = kl_digest("sha1", tbuf, tlen, got, &dlen)) != 0)
                        return r;
        }
        if (!l.violation && memcmp(got, thash, KL_SHA1_LEN) != 0) {
                kl_why_set(why, why_len, "line %llu: template hash mismatch",
                           (unsigned long long)lineno);
                return KL_ERR_VERIFY;
        }
        if (!policy_allows(policy, l.name, l.name_len, l.file_digest, l.file_digest_len)) {
                char name[WHY_NAME_MAX + 4], hex[2 * KL_MAX_DIGEST_LEN + 1];

                safe_name(l.name, l.name_len, name);
                kl_hex_encode_to(l.file_digest, l.file_digest_len, hex);
                kl_why_set(why, why_len, "line %llu: %s: digest %.*s%s%s not in allowlist",
                           (unsigned long long)lineno, name, (int)l.alg_len, l.alg ? l.alg : "",
                           l.alg ? ":" : "", hex);
                return KL_ERR_VERIFY;
        }
        if (l.violation)
                memset(value, 0xff, st->digest_len);
        else if (st->bank_alg == KL_ALG_SHA1)
                memcpy(value, got, KL_SHA1_LEN);
        else if ((r = kl_digest(bank, tbuf, tlen, value, &dlen)) != 0)
                return r;
        memcpy(ext, st->pcr10, st->digest_len);
        memcpy(ext + st->digest_len, value, st->digest_len);
        if ((r = kl_digest(bank, ext, 2 * st->digest_len, st->pcr10, &dlen)) != 0)
                return r;
        st->entries++;
        return 0;
}

int kl_ima_replay(struct kl_ima_replay *st, const char *text, size_t len,
                  const struct kl_ima_policy *policy, const uint8_t *quoted_pcr10, char *why,
                  size_t why_len)
{
        struct kl_ima_replay work;
        const char *bank, *p, *end, *nl;
        uint8_t *tbuf = NULL;
        size_t tcap = 0;
        bool matched;
        int r = KL_ERR_INVAL;

        kl_why_set(why, why_len, "%s", "");
        if (st == NULL || (text == NULL && len != 0) ||
            (bank = kl_hash_alg_name(st->bank_alg)) == NULL || st->digest_len == 0 ||
            st->digest_len > KL_MAX_DIGEST_LEN) {
                kl_why_set(why, why_len, "bad arguments or unsupported bank");
                goto out;
        }
        /* a state not made by kl_ima_replay_init for this bank would hash the wrong length */
        kl_ima_replay_init(&work, st->bank_alg);
        if (work.digest_len != st->digest_len) {
                kl_why_set(why, why_len, "replay state does not match its bank");
                goto out;
        }
        work = *st;
        matched = quoted_pcr10 == NULL || memcmp(work.pcr10, quoted_pcr10, work.digest_len) == 0;
        for (p = text, end = text + len; p < end; p = nl + 1) {
                size_t ll, need;

                if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
                        break; /* a partial line is the agent reading while the kernel writes */
                ll = (size_t)(nl - p);
                if (ll > KL_IMA_MAX_LINE) {
                        kl_why_set(why, why_len, "line %llu: longer than %u bytes",
                                   (unsigned long long)(work.entries + 1), KL_IMA_MAX_LINE);
                        r = KL_ERR_INVAL;
                        goto out;
                }
                need = ll + IMA_NAME_PAD + 64;
                if (need > tcap) {
                        uint8_t *nb = realloc(tbuf, need);

                        if (nb == NULL) {
                                r = KL_ERR_NOMEM;
                                goto out;
                        }
                        tbuf = nb;
                        tcap = need;
                }
                if ((r = check_line(&work, bank, p, ll, policy, tbuf, why, why_len)) != 0)
                        goto out;
                if (!matched && memcmp(work.pcr10, quoted_pcr10, work.digest_len) == 0)
                        matched = true;
        }
        if (!matched) {
                kl_why_set(why, why_len, "PCR 10 does not match the IMA log");
                r = KL_ERR_VERIFY;
                goto out;
        }
        *st = work;
        r = 0;
out:
        free(tbuf);
        return r;
}
