/* SPDX-License-Identifier: Apache-2.0 */
/* The tenant role of `add --payload` (see tenant.h; keys-and-payloads.md §2). */
#include "tenant_role.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"
#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "http_client.h"
#include "json.h"
#include "rest.h"
#include "tpm_public.h"
#include "uuid.h"
#include "verify.h"
#include "zipfile.h"

#define TIMEOUT_MS    30000L
#define PAYLOAD_MAX   (64u << 20)
#define AGENT_PEM_MAX 65536

struct ver_tenant {
        const struct ver_client_options *o;
        struct kl_bootstrap_keys keys;
        struct kl_tpm_public *ak;
        struct kl_tpm_public *ek; /* NULL when the registrar has no ek_tpm */
        char base[300];           /* https://host:port */
        char version[8];          /* agent API version */
        char ca_path[4096];       /* the agent's registered certificate, pinned */
        bool tls;
};

static int request(struct ver_tenant *t, const char *method, const char *path, const char *body,
                   struct kl_http_response *resp)
{
        struct kl_http_tls tls = {
            .ca_file = t->ca_path,
            .cert_file = t->o->client_cert,
            .key_file = t->o->client_key,
            .no_hostname_check = true,
        };
        char url[1024];
        int n = snprintf(url, sizeof(url), "%s%s", t->base, path);

        if (n < 0 || (size_t)n >= sizeof(url))
                return KL_ERR_TOO_LONG;
        return kl_http_request(method, url, body, t->tls ? &tls : NULL, TIMEOUT_MS, resp);
}

/* GET that must answer 200 with a results object; *ret_env owns it. */
static int get_results(struct ver_tenant *t, const char *path, kl_json **ret_env,
                       kl_json **ret_results)
{
        struct kl_http_response resp = {0};
        int r;

        if ((r = request(t, "GET", path, NULL, &resp)) < 0) {
                fprintf(stderr, "tenant: GET %s: %s\n", path, kl_err_str(r));
                return r;
        }
        if (resp.status != 200 || kl_json_parse_object(resp.body, resp.body_len, ret_env) < 0 ||
            kl_json_get_object(*ret_env, "results", ret_results) < 0) {
                fprintf(stderr, "tenant: GET %s: HTTP %ld: %.200s\n", path, resp.status, resp.body);
                r = KL_ERR_HTTP_STATUS;
        }
        kl_http_response_clear(&resp);
        return r;
}

/* Agent address, AK and pinned certificate from the registrar's record. */
static int lookup_agent(struct ver_tenant *t)
{
        const struct ver_client_options *o = t->o;
        struct kl_http_tls reg_tls = ver_client_stub_tls(o); /* the registrar's mTLS listener */
        struct kl_http_response resp = {0};
        kl_json *env = NULL, *res = NULL;
        const char *aik = NULL, *cert = NULL, *ip = NULL, *ek = NULL;
        uint8_t *aik_bin = NULL, *ek_bin = NULL;
        size_t aik_len = 0, ek_len = 0;
        int64_t port = 0;
        char url[1024];
        int fd = -1, r = KL_ERR_INVAL;

        if (o->registrar == NULL) {
                fprintf(stderr, "tenant: --payload, seal and certify need --registrar URL\n");
                return KL_ERR_INVAL;
        }
        snprintf(url, sizeof(url), "%s/v2.6/agents/%s", o->registrar, o->uuid);
        if ((r = kl_http_request("GET", url, NULL, &reg_tls, TIMEOUT_MS, &resp)) < 0 ||
            resp.status != 200 || kl_json_parse_object(resp.body, resp.body_len, &env) < 0 ||
            kl_json_get_object(env, "results", &res) < 0 ||
            kl_json_get_string(res, "aik_tpm", &aik) < 0 ||
            kl_json_get_string(res, "mtls_cert", &cert) < 0) {
                fprintf(stderr, "tenant: agent %s is not active at the registrar (%s)\n", o->uuid,
                        r < 0 ? kl_err_str(r) : resp.body);
                r = r < 0 ? r : KL_ERR_NOT_FOUND;
                goto out;
        }
        if ((r = kl_b64_decode(aik, strlen(aik), &aik_bin, &aik_len)) < 0 ||
            (r = kl_tpm_public_parse(aik_bin, aik_len, &t->ak)) < 0) {
                fprintf(stderr, "tenant: the registrar's aik_tpm is not a TPM2B_PUBLIC\n");
                goto out;
        }
        if (kl_json_get_string(res, "ek_tpm", &ek) == 0 &&
            ((r = kl_b64_decode(ek, strlen(ek), &ek_bin, &ek_len)) < 0 ||
             (r = kl_tpm_public_parse(ek_bin, ek_len, &t->ek)) < 0)) {
                fprintf(stderr, "tenant: the registrar's ek_tpm is not a TPM2B_PUBLIC\n");
                goto out;
        }
        t->tls = strcmp(cert, "disabled") != 0;
        if (o->agent != NULL) {
                snprintf(t->base, sizeof(t->base), "%s://%s", t->tls ? "https" : "http", o->agent);
        } else if (kl_json_get_string(res, "ip", &ip) == 0 &&
                   kl_json_get_int(res, "port", &port) == 0) {
                snprintf(t->base, sizeof(t->base),
                         strchr(ip, ':') ? "%s://[%s]:%lld" : "%s://%s:%lld",
                         t->tls ? "https" : "http", ip, (long long)port);
        } else {
                fprintf(stderr, "tenant: no agent address (give --agent)\n");
                r = KL_ERR_INVAL;
                goto out;
        }
        if (t->tls) {
                const char *tmp = getenv("TMPDIR");

                snprintf(t->ca_path, sizeof(t->ca_path), "%s/kl-tenant-XXXXXX.crt",
                         tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
                if ((fd = mkstemps(t->ca_path, 4)) < 0 ||
                    write(fd, cert, strlen(cert)) != (ssize_t)strlen(cert)) {
                        fprintf(stderr, "tenant: cannot write the agent's certificate\n");
                        r = KL_ERR_IO;
                        goto out;
                }
        }
        r = 0;
out:
        if (fd >= 0)
                close(fd);
        free(aik_bin);
        free(ek_bin);
        kl_json_free(env);
        kl_http_response_clear(&resp);
        return r;
}

/* Highest agent API version in 2.1..2.6 (as the verifier negotiates). */
static int negotiate(struct ver_tenant *t)
{
        kl_json *env = NULL, *res = NULL;
        int r;

        if ((r = get_results(t, "/version", &env, &res)) < 0)
                return r;
        r = kl_rest_pick_agent_version(res, t->version);
        kl_json_free(env);
        if (r < 0)
                fprintf(stderr, "tenant: the agent serves no API version 2.1-2.6\n");
        return r;
}

/* The identity quote: signed by the registered AK, our nonce, PCR 16 = H(NK). */
static int identity_quote(struct ver_tenant *t, char **ret_nk_pem)
{
        kl_json *env = NULL, *res = NULL;
        const char *quote = NULL, *hash_alg = NULL, *pubkey = NULL;
        struct kl_attest_info info;
        struct kl_pcr_set pcrs;
        struct ver_quote_input in = {.ak = t->ak, .mask = 0}; /* the agent adds PCR 16 */
        char nonce[VER_NONCE_LEN + 1], path[128], why[512] = "";
        int r;

        if ((r = kl_nonce_generate(nonce, VER_NONCE_LEN)) < 0)
                return r;
        snprintf(path, sizeof(path), "/v%s/quotes/identity?nonce=%s", t->version, nonce);
        if ((r = get_results(t, path, &env, &res)) < 0)
                return r;
        r = KL_ERR_VERIFY;
        if (kl_json_get_string(res, "quote", &quote) < 0 ||
            kl_json_get_string(res, "hash_alg", &hash_alg) < 0 ||
            kl_json_get_string(res, "pubkey", &pubkey) < 0) {
                snprintf(why, sizeof(why), "answer lacks quote, hash_alg or pubkey");
                goto out;
        }
        in.quote = quote;
        in.quote_len = strlen(quote);
        in.hash_alg = hash_alg;
        in.nonce = nonce;
        if (ver_check_quote(&in, &pcrs, &info, why, sizeof(why)) < 0 ||
            ver_check_pcr16(&pcrs, pubkey, strlen(pubkey), why, sizeof(why)) < 0)
                goto out;
        if ((*ret_nk_pem = strdup(pubkey)) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        r = 0;
out:
        if (r < 0)
                fprintf(stderr, "tenant: identity quote refused: %s\n", why);
        kl_json_free(env);
        return r;
}

/* out = a sep b; KL_ERR_TOO_LONG rather than a truncated path. */
static int join(char *out, size_t len, const char *a, const char *sep, const char *b)
{
        int n = snprintf(out, len, "%s%s%s", a, sep, b);

        return n < 0 || (size_t)n >= len ? KL_ERR_TOO_LONG : 0;
}

/* Adds the regular files of dir (recursively) to an archive under their relative names. */
static int zip_dir(struct kl_zip_writer *z, const char *dir, const char *prefix)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int r = 0;

        if (d == NULL)
                return KL_ERR_IO;
        while (r == 0 && (e = readdir(d)) != NULL) {
                char path[4096], name[4096];
                struct stat st;

                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if ((r = join(path, sizeof(path), dir, "/", e->d_name)) < 0 ||
                    (r = join(name, sizeof(name), prefix, "", e->d_name)) < 0)
                        break;
                if (lstat(path, &st) != 0) {
                        r = KL_ERR_IO;
                } else if (S_ISDIR(st.st_mode)) {
                        char sub[4096];

                        if ((r = join(sub, sizeof(sub), name, "/", "")) < 0)
                                break;
                        if ((r = kl_zip_add_dir(z, name)) == 0)
                                r = zip_dir(z, path, sub);
                } else if (S_ISREG(st.st_mode)) {
                        r = kl_zip_add_file(z, name, path, (st.st_mode & 0111) != 0);
                }
        }
        closedir(d);
        return r;
}

/*
 * The payload bytes: a file as it is, a directory zipped (what the agent
 * unzips). rev_cert (may be NULL) joins the zip as RevocationNotifier-cert.crt,
 * where the agent looks for the certificate that verifies revocation notices.
 */
static int load_payload(const char *path, const char *rev_cert, char **ret, size_t *ret_len)
{
        struct stat st;
        char tmp[4096];
        const char *tmpdir = getenv("TMPDIR");
        struct kl_zip_writer *z = NULL;
        int fd, r;

        if (stat(path, &st) != 0) {
                fprintf(stderr, "tenant: cannot read --payload %s\n", path);
                return KL_ERR_NOT_FOUND;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (rev_cert != NULL) {
                        fprintf(stderr, "tenant: --revocation-cert needs a directory payload\n");
                        return KL_ERR_INVAL;
                }
                return kl_file_read(path, PAYLOAD_MAX, ret, ret_len);
        }
        snprintf(tmp, sizeof(tmp), "%s/kl-payload-XXXXXX",
                 tmpdir != NULL && tmpdir[0] != '\0' ? tmpdir : "/tmp");
        if ((fd = mkstemp(tmp)) < 0)
                return KL_ERR_IO;
        close(fd);
        r = KL_ERR_IO;
        if (kl_zip_create(tmp, &z) < 0)
                goto out;
        if (zip_dir(z, path, "") < 0 ||
            (rev_cert != NULL &&
             kl_zip_add_file(z, "RevocationNotifier-cert.crt", rev_cert, false) < 0)) {
                kl_zip_discard(z);
                goto out;
        }
        if (kl_zip_commit(z) < 0)
                goto out;
        r = kl_file_read(tmp, PAYLOAD_MAX, ret, ret_len);
out:
        if (r < 0)
                fprintf(stderr, "tenant: cannot zip %s\n", path);
        unlink(tmp);
        return r;
}

int ver_tenant_open(const struct ver_client_options *o, struct ver_tenant **ret)
{
        struct ver_tenant *t = calloc(1, sizeof(*t));
        int r;

        if (t == NULL)
                return KL_ERR_NOMEM;
        t->o = o;
        if ((r = lookup_agent(t)) < 0 || (r = negotiate(t)) < 0) {
                ver_tenant_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

const struct kl_tpm_public *ver_tenant_ek(const struct ver_tenant *t)
{
        return t->ek;
}

const struct kl_tpm_public *ver_tenant_ak(const struct ver_tenant *t)
{
        return t->ak;
}

int ver_tenant_post(struct ver_tenant *t, const char *resource, const char *body,
                    struct kl_http_response *resp)
{
        char path[128];
        int r;
        int n = snprintf(path, sizeof(path), "/v%s%s", t->version, resource);

        if (n < 0 || (size_t)n >= sizeof(path))
                return KL_ERR_TOO_LONG;
        if ((r = request(t, "POST", path, body, resp)) < 0 || resp->status != 200) {
                fprintf(stderr, "tenant: POST %s: %s\n", path, r < 0 ? kl_err_str(r) : resp->body);
                return r < 0 ? r : KL_ERR_HTTP_STATUS;
        }
        return 0;
}

int ver_tenant_send_u(const struct ver_client_options *o, struct ver_tenant **ret, char **ret_v_b64)
{
        struct ver_tenant *t = NULL;
        struct kl_http_response resp = {0};
        kl_json *body = NULL;
        char *nk_pem = NULL, *wrapped_u = NULL, *payload_b64 = NULL;
        char *data = NULL, *v_b64 = NULL, *json = NULL;
        char tag[KL_HMAC_SHA384_HEX_LEN + 1];
        size_t data_len = 0;
        int r;

        if ((r = ver_tenant_open(o, &t)) < 0 || (r = identity_quote(t, &nk_pem)) < 0)
                goto out;
        r = o->key_file != NULL ? kl_bootstrap_keys_load(o->key_file, &t->keys)
                                : kl_bootstrap_keys_generate(&t->keys);
        if (r < 0) {
                fprintf(stderr, "tenant: bad --key file (three base64 lines K, U, V): %s\n",
                        kl_err_str(r));
                goto out;
        }
        if ((r = load_payload(o->payload, o->revocation_cert, &data, &data_len)) < 0 ||
            (r = kl_tenant_encrypt_payload(t->keys.k, sizeof(t->keys.k), (uint8_t *)data, data_len,
                                           &payload_b64)) < 0 ||
            (r = kl_tenant_wrap_share(nk_pem, t->keys.u, sizeof(t->keys.u), &wrapped_u)) < 0 ||
            (r = kl_hmac_sha384_hex(t->keys.k, sizeof(t->keys.k), (const uint8_t *)o->uuid,
                                    strlen(o->uuid), tag)) < 0 ||
            (r = kl_b64_encode(t->keys.v, sizeof(t->keys.v), &v_b64)) < 0)
                goto out;
        r = KL_ERR_NOMEM;
        if ((body = kl_json_object()) == NULL || kl_json_set_string(body, "auth_tag", tag) < 0 ||
            kl_json_set_string(body, "encrypted_key", wrapped_u) < 0 ||
            kl_json_set_string(body, "payload", payload_b64) < 0 ||
            (json = kl_json_to_string(body)) == NULL)
                goto out;
        if ((r = ver_tenant_post(t, "/keys/ukey", json, &resp)) < 0)
                goto out;
        printf("tenant: identity quote of %s verified; U and payload (%zu bytes) sent\n", o->uuid,
               data_len);
        *ret = t;
        t = NULL;
        *ret_v_b64 = v_b64;
        v_b64 = NULL;
        r = 0;
out:
        kl_wipe(tag, sizeof(tag));
        kl_http_response_clear(&resp);
        kl_json_free(body);
        free(json);
        free(nk_pem);
        free(wrapped_u);
        free(payload_b64);
        if (data != NULL)
                kl_secure_free(data, data_len);
        if (v_b64 != NULL)
                kl_secure_free(v_b64, strlen(v_b64));
        ver_tenant_free(t);
        return r;
}

int ver_tenant_verify(struct ver_tenant *t, unsigned timeout_s)
{
        char challenge[VER_NONCE_LEN + 1], path[128], want[KL_HMAC_SHA384_HEX_LEN + 1];
        int r;

        if ((r = kl_nonce_generate(challenge, VER_NONCE_LEN)) < 0 ||
            (r = kl_hmac_sha384_hex(t->keys.k, sizeof(t->keys.k), (const uint8_t *)challenge,
                                    strlen(challenge), want)) < 0)
                return r;
        snprintf(path, sizeof(path), "/v%s/keys/verify?challenge=%s", t->version, challenge);
        for (unsigned i = 0; i < timeout_s; i++) {
                struct kl_http_response resp = {0};
                kl_json *env = NULL, *res = NULL;
                const char *hmac = NULL;
                bool ok = false, answered = false;

                if (request(t, "GET", path, NULL, &resp) == 0 && resp.status == 200 &&
                    kl_json_parse_object(resp.body, resp.body_len, &env) == 0 &&
                    kl_json_get_object(env, "results", &res) == 0 &&
                    kl_json_get_string(res, "hmac", &hmac) == 0) {
                        answered = true;
                        ok = kl_mem_equal_ct(hmac, strlen(hmac), want, strlen(want));
                }
                kl_json_free(env);
                kl_http_response_clear(&resp);
                if (answered) {
                        printf("tenant: /keys/verify %s\n",
                               ok ? "OK: the agent derived K" : "FAILED: wrong HMAC");
                        return ok ? 0 : KL_ERR_VERIFY;
                }
                sleep(1); /* K exists only once the verifier has released V */
        }
        fprintf(stderr, "tenant: the agent did not derive K within %u s\n", timeout_s);
        return KL_ERR_VERIFY;
}

void ver_tenant_free(struct ver_tenant *t)
{
        if (t == NULL)
                return;
        if (t->ca_path[0] != '\0')
                unlink(t->ca_path);
        kl_tpm_public_free(t->ak);
        kl_tpm_public_free(t->ek);
        kl_bootstrap_keys_wipe(&t->keys);
        free(t);
}
