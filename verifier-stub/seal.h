/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seal command (sealed transfer, proto-docs/sealed-transfer.md): wraps
 * an AES key or an RSA private key for one agent's TPM, bound by PolicyPCR
 * to the PCR values of that agent's last good quote in this verifier's
 * store, and sends it to the agent's POST /keys/sealed. Returns an exit code.
 */
#ifndef VER_SEAL_H
#define VER_SEAL_H

#include "client.h"

struct ver_seal_options {
        const struct ver_client_options *client; /* uuid, registrar, TLS files, agent */
        const char *db;                          /* the verifier's store */
        const char *aes_key_file;                /* raw key bytes (16, 24 or 32) */
        const char *rsa_key_file;                /* PEM RSA-2048 private key */
        const char *pcrs;                        /* "0,7" */
        const char *bank;                        /* "sha256" (default) */
        const char *name;                        /* the agent's name for it; default "aes"/"rsa" */
};

int ver_seal(const struct ver_seal_options *o);

#endif
