/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tpm_bench: the floor under the agent's timings. Runs, back to back on one
 * TPM (TCTI from $TCTI, as the agent), the libkl calls the agent makes for a
 * quote request (PCR 16 reset+extend, quote over the same selection, which
 * includes the PCR_Read) and for a registration (EK, EK certificate, AK
 * create or load, ActivateCredential on a kl_makecred blob), and prints one
 * "OPERATION MILLISECONDS" line per sample on stdout for bench/run.sh.
 *
 *   tpm_bench [-n QUOTES] [-k KEY_OPS] [-m MASK] [-q]
 *
 * -q (quotes only) makes one EK and AK untimed and skips the key samples, so
 * run.sh can interleave short quote blocks with the agent's own on one TPM
 * (the agent's loaded AK leaves room for exactly the EK and this AK).
 *
 * Each timed region wraps exactly one libkl call, so the numbers include
 * ESAPI and TCTI overhead (as the agent pays it) but no HTTP or JSON.
 * Leaves no transient object behind (kl_tpm_free flushes).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "makecred.h"
#include "quote.h"
#include "tpm.h"
#include "tpm_public.h"

#define DATA_PCR 16 /* the agent binds its NK to PCR 16 before every quote */

/* One MakeCredential in software (registrar side) and the TPM's ActivateCredential. */
static int activate_once(struct kl_tpm *tpm)
{
        struct kl_tpm_public *ek = NULL, *ak = NULL;
        uint8_t *ek_pub = NULL, *ak_pub = NULL, *blob = NULL, *secret = NULL;
        size_t ek_len = 0, ak_len = 0, blob_len = 0, secret_len = 0, name_len = 0;
        uint8_t name[2 + 64], cred[32];
        double t0;
        int r;

        memset(cred, 0x5a, sizeof(cred)); /* the value does not matter, only its size */
        if ((r = kl_tpm_ek_public(tpm, &ek_pub, &ek_len)) < 0 ||
            (r = kl_tpm_ak_public(tpm, &ak_pub, &ak_len)) < 0 ||
            (r = kl_tpm_public_parse(ek_pub, ek_len, &ek)) < 0 ||
            (r = kl_tpm_public_parse(ak_pub, ak_len, &ak)) < 0 ||
            (r = kl_tpm_public_name(ak, name, &name_len)) < 0)
                goto out;
        t0 = bench_now_ms();
        if ((r = kl_makecred(ek, name, name_len, cred, sizeof(cred), &blob, &blob_len)) < 0)
                goto out;
        bench_sample("makecred_sw", t0);
        t0 = bench_now_ms();
        if ((r = kl_tpm_activate_credential(tpm, blob, blob_len, &secret, &secret_len)) < 0)
                goto out;
        bench_sample("activate_credential", t0);
        r = secret_len == sizeof(cred) && memcmp(secret, cred, sizeof(cred)) == 0 ? 0
                                                                                  : KL_ERR_VERIFY;
out:
        if (secret != NULL)
                kl_secure_free(secret, secret_len);
        free(blob);
        kl_tpm_public_free(ek);
        kl_tpm_public_free(ak);
        free(ek_pub);
        free(ak_pub);
        return r;
}

/* The TPM half of one /quotes/integrity request, as agent/api_quotes.c take_quote() does it. */
static int quote_once(struct kl_tpm *tpm, uint32_t mask, unsigned i)
{
        uint8_t digest[32], *attest = NULL, *sig = NULL;
        size_t attest_len = 0, sig_len = 0;
        struct kl_pcr_set pcrs;
        char nonce[32];
        double t0, t1;
        int r;

        memset(digest, (int)(i & 0xff), sizeof(digest));
        snprintf(nonce, sizeof(nonce), "benchnonce%010u", i);
        t0 = bench_now_ms();
        if ((r = kl_tpm_pcr_reset_extend(tpm, DATA_PCR, digest, sizeof(digest))) < 0)
                goto out;
        t1 = bench_now_ms();
        bench_sample("pcr16_reset_extend", t0);
        if ((r = kl_tpm_quote(tpm, (const uint8_t *)nonce, strlen(nonce), mask, &attest,
                              &attest_len, &sig, &sig_len, &pcrs)) < 0)
                goto out;
        bench_sample("quote_with_pcr_read", t1);
        bench_sample("quote_request_tpm", t0);
        t0 = bench_now_ms();
        r = kl_tpm_pcr_read(tpm, pcrs.hash_alg, mask, &pcrs);
        bench_sample("pcr_read", t0);
out:
        free(attest);
        free(sig);
        return r;
}

int main(int argc, char **argv)
{
        struct kl_tpm_options opts = {0};
        struct kl_tpm_ak_blob blob = {0};
        struct kl_tpm *tpm = NULL;
        uint8_t *der = NULL;
        size_t der_len = 0;
        unsigned long n_quotes = 20, n_keys = 3, mask = 0x400;
        char why[512] = "";
        double t0;
        int c, r = 0, status = 1;
        bool quotes_only = false;

        while ((c = getopt(argc, argv, "n:k:m:q")) != -1) {
                switch (c) {
                case 'n':
                        r = bench_parse_uint(optarg, 0, 1000000, &n_quotes);
                        break;
                case 'k':
                        r = bench_parse_uint(optarg, 0, 1000, &n_keys);
                        break;
                case 'm':
                        r = bench_parse_uint(optarg, 0, 0xffffff, &mask);
                        break;
                case 'q':
                        quotes_only = true;
                        break;
                default:
                        r = -1;
                }
                if (r < 0) {
                        fprintf(stderr,
                                "usage: tpm_bench [-n QUOTES] [-k KEY_OPS] [-m MASK] [-q]\n");
                        return 2;
                }
        }
        if (n_keys == 0 || quotes_only)
                n_keys = 1; /* the quote needs an AK */
        /* tpm2-tss would print expected failures itself; libkl logs the ones that matter */
        setenv("TSS2_LOG", "all+none", 0);
        kl_log_set_level(KL_LOG_WARNING);
        t0 = bench_now_ms();
        if (kl_tpm_open(&opts, &tpm, why, sizeof(why)) < 0) {
                fprintf(stderr, "tpm_bench: %s\n", why);
                goto out;
        }
        if (!quotes_only)
                bench_sample("tpm_open", t0);

        /* Registration's TPM work: EK (transient, the agent's default), its certificate,
         * AK create (first start) or load (agent_data.json present), ActivateCredential. */
        for (unsigned long i = 0; i < n_keys; i++) {
                (void)kl_tpm_ek_flush(tpm);
                t0 = bench_now_ms();
                if ((r = kl_tpm_ek_load(tpm)) < 0)
                        goto fail;
                if (quotes_only) {
                        if ((r = kl_tpm_ak_create(tpm, &blob)) < 0)
                                goto fail;
                        break;
                }
                bench_sample("ek_create", t0);
                t0 = bench_now_ms();
                if ((r = kl_tpm_ek_cert(tpm, &der, &der_len)) < 0)
                        goto fail;
                bench_sample("ek_cert_read", t0);
                free(der);
                der = NULL;
                kl_tpm_ak_blob_clear(&blob);
                t0 = bench_now_ms();
                if ((r = kl_tpm_ak_create(tpm, &blob)) < 0)
                        goto fail;
                bench_sample("ak_create", t0);
                t0 = bench_now_ms();
                if ((r = kl_tpm_ak_load(tpm, &blob)) < 0)
                        goto fail;
                bench_sample("ak_load", t0);
                if ((r = activate_once(tpm)) < 0)
                        goto fail;
        }
        /* As the agent: the transient EK is gone once registration is done. */
        (void)kl_tpm_ek_flush(tpm);
        for (unsigned long i = 0; i < n_quotes; i++)
                if ((r = quote_once(tpm, (uint32_t)mask | (1u << DATA_PCR), (unsigned)i)) < 0)
                        goto fail;
        status = 0;
        goto out;
fail:
        fprintf(stderr, "tpm_bench: %s\n", kl_err_str(r));
out:
        fflush(stdout);
        free(der);
        kl_tpm_ak_blob_clear(&blob);
        kl_tpm_free(tpm);
        return status;
}
