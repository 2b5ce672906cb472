/* SPDX-License-Identifier: Apache-2.0 */
/*
 * quote_client: a minimal libcurl load generator for bench/run.sh. Sends N
 * requests to one URL template and prints one "MILLISECONDS HTTP_CODE BYTES"
 * line per request, then "total MILLISECONDS". Used for the agent's
 * /quotes/integrity (mTLS, with and without keep-alive) and for POSTs of a
 * recorded registration body to the registrar stub.
 *
 *   quote_client [-n N] [-o OFFSET] [-K] [-d BODYFILE] [--cacert F --cert F --key F] URL
 *
 * In URL, "{i}" becomes the request index (OFFSET + 0..N-1), so each quote
 * gets a fresh nonce, and "{uuid}" a UUID made from it, so each POST
 * registers a new agent ID. Keep-alive is the default: one easy handle is
 * reused, so libcurl keeps the TLS connection. -K gives every request a
 * fresh connection and a full handshake, as a client without keep-alive pays.
 * Exits 1 if any request fails or answers other than 200.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define URL_MAX  2048
#define BODY_MAX (1024u * 1024u) /* a registration body is a few KiB */

struct opts {
        unsigned long n;
        unsigned long offset;
        int no_keepalive;
        const char *body_file;
        const char *cacert, *cert, *key;
        const char *url;
};

static double now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Counts and drops the answer: only its size matters here. */
static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        size_t *total = userdata;

        (void)ptr;
        *total += size * nmemb;
        return size * nmemb;
}

/* Copies tmpl into out with {i} and {uuid} replaced for request index i. */
static int expand(const char *tmpl, unsigned long i, char *out, size_t len)
{
        size_t off = 0;
        char rep[64];

        while (*tmpl != '\0') {
                const char *r = NULL;
                size_t skip = 1, rlen;

                if (strncmp(tmpl, "{i}", 3) == 0) {
                        snprintf(rep, sizeof(rep), "%lu", i);
                        r = rep;
                        skip = 3;
                } else if (strncmp(tmpl, "{uuid}", 6) == 0) {
                        snprintf(rep, sizeof(rep), "be0c4a5e-0000-4000-8000-%012lu", i);
                        r = rep;
                        skip = 6;
                }
                rlen = r != NULL ? strlen(r) : 1;
                if (rlen >= len - off)
                        return -1;
                memcpy(out + off, r != NULL ? r : tmpl, rlen);
                off += rlen;
                tmpl += skip;
        }
        out[off] = '\0';
        return 0;
}

static char *read_body(const char *path, size_t *ret_len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t n;

        if (f == NULL)
                return NULL;
        if ((buf = malloc(BODY_MAX + 1)) != NULL) {
                n = fread(buf, 1, BODY_MAX + 1, f);
                if (ferror(f) || n > BODY_MAX) {
                        free(buf);
                        buf = NULL;
                } else {
                        buf[n] = '\0';
                        *ret_len = n;
                }
        }
        fclose(f);
        return buf;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
        static const struct option longopts[] = {
            {"cacert", required_argument, NULL, 'C'},
            {"cert", required_argument, NULL, 'c'},
            {"key", required_argument, NULL, 'k'},
            {NULL, 0, NULL, 0},
        };
        char *end = NULL;
        int c;

        while ((c = getopt_long(argc, argv, "n:o:Kd:", longopts, NULL)) != -1) {
                switch (c) {
                case 'n':
                case 'o':
                        errno = 0;
                        *(c == 'n' ? &o->n : &o->offset) = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end != '\0')
                                return -1;
                        break;
                case 'K':
                        o->no_keepalive = 1;
                        break;
                case 'd':
                        o->body_file = optarg;
                        break;
                case 'C':
                        o->cacert = optarg;
                        break;
                case 'c':
                        o->cert = optarg;
                        break;
                case 'k':
                        o->key = optarg;
                        break;
                default:
                        return -1;
                }
        }
        if (optind + 1 != argc)
                return -1;
        o->url = argv[optind];
        return 0;
}

int main(int argc, char **argv)
{
        struct opts o = {.n = 10};
        struct curl_slist *headers = NULL;
        CURL *h = NULL;
        char *body = NULL;
        size_t body_len = 0;
        char url[URL_MAX];
        double start, t0;
        int status = 1;

        if (parse_args(argc, argv, &o) < 0) {
                fprintf(stderr, "usage: quote_client [-n N] [-o OFFSET] [-K] [-d BODYFILE] "
                                "[--cacert F --cert F --key F] URL\n");
                return 2;
        }
        if (o.body_file != NULL && (body = read_body(o.body_file, &body_len)) == NULL) {
                fprintf(stderr, "quote_client: cannot read %s\n", o.body_file);
                return 1;
        }
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                goto out;
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        start = now_ms();
        for (unsigned long i = o.offset; i < o.offset + o.n; i++) {
                size_t bytes = 0;
                long code = 0;
                CURLcode rc;

                /* Without keep-alive a new handle per request also drops libcurl's TLS
                 * session cache, so each request pays the full handshake. */
                if (h == NULL) {
                        if ((h = curl_easy_init()) == NULL)
                                goto out;
                        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
                        curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
                        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
                        if (o.cacert != NULL)
                                curl_easy_setopt(h, CURLOPT_CAINFO, o.cacert);
                        if (o.cert != NULL)
                                curl_easy_setopt(h, CURLOPT_SSLCERT, o.cert);
                        if (o.key != NULL)
                                curl_easy_setopt(h, CURLOPT_SSLKEY, o.key);
                        if (body != NULL) {
                                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
                                curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
                        }
                }
                if (expand(o.url, i, url, sizeof(url)) < 0) {
                        fprintf(stderr, "quote_client: URL too long\n");
                        goto out;
                }
                curl_easy_setopt(h, CURLOPT_URL, url);
                curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
                t0 = now_ms();
                rc = curl_easy_perform(h);
                printf("%.3f ", now_ms() - t0);
                if (rc != CURLE_OK) {
                        printf("0 0\n");
                        fprintf(stderr, "quote_client: %s: %s\n", url, curl_easy_strerror(rc));
                        goto out;
                }
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
                printf("%ld %zu\n", code, bytes);
                if (code != 200) {
                        fprintf(stderr, "quote_client: %s: HTTP %ld\n", url, code);
                        goto out;
                }
                if (o.no_keepalive) {
                        curl_easy_cleanup(h);
                        h = NULL;
                }
        }
        printf("total %.3f\n", now_ms() - start);
        status = 0;
out:
        fflush(stdout);
        curl_easy_cleanup(h);
        curl_slist_free_all(headers);
        curl_global_cleanup();
        free(body);
        return status;
}
