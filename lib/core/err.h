/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One error type for the whole project, grouped by module, with a string table.
 * Functions that act return 0 or a negative KL_ERR_*; predicates return bool.
 */
#ifndef KL_ERR_H
#define KL_ERR_H

#include <stddef.h>

enum kl_err {
        KL_OK = 0,
        /* generic */
        KL_ERR_NOMEM = -1,
        KL_ERR_INVAL = -2,    /* bad argument or malformed input */
        KL_ERR_TOO_LONG = -3, /* input or output exceeds a fixed cap */
        KL_ERR_IO = -4,       /* file read/write failed (errno is meaningful) */
        KL_ERR_SYSTEM = -5,   /* a system call failed */
        KL_ERR_INTERNAL = -6, /* broken invariant */
        KL_ERR_NOT_FOUND = -7,
        KL_ERR_EXISTS = -8,
        KL_ERR_UNSUPPORTED = -9,
        KL_ERR_CANCELED = -10, /* stopped by a termination signal */
        KL_ERR_NO_SPACE = -11, /* the file system is full (ENOSPC, EDQUOT) */
        /* configuration */
        KL_ERR_CONFIG = -20,
        /* crypto */
        KL_ERR_CRYPTO = -30, /* OpenSSL failure (details logged where it happened) */
        KL_ERR_VERIFY = -31, /* a signature, MAC or certificate chain did not verify */
        KL_ERR_KEY_MISMATCH = -32,
        /* TPM */
        KL_ERR_TPM = -40,
        KL_ERR_TPM_OPEN = -41,    /* TCTI or ESAPI could not be initialised */
        KL_ERR_TPM_RETRY = -42,   /* TPM asked to retry (RETRY, TESTING, YIELDED) */
        KL_ERR_TPM_AUTH = -43,    /* authorisation failure */
        KL_ERR_TPM_LOCKOUT = -44, /* dictionary-attack lockout */
        KL_ERR_TPM_HANDLE = -45,  /* handle or NV index does not exist */
        KL_ERR_TPM_LOST = -46,    /* the connection to the TPM broke; the context is unusable */
        KL_ERR_TPM_POLICY = -47,  /* an object's PCR policy is not satisfied (POLICY_FAIL) */
        KL_ERR_TPM_WRAP = -48,    /* a wrapped blob is not for this TPM's parent key, or altered */
        /* HTTP */
        KL_ERR_HTTP = -50,        /* transport failure (connect, TLS, timeout) */
        KL_ERR_HTTP_STATUS = -51, /* peer answered with an unexpected status */
        /* storage */
        KL_ERR_DB = -60,
};

/* Static text for an error code; never NULL. */
const char *kl_err_str(int err);

/*
 * Writes a reason for the caller into why (why_len bytes) when why is not
 * NULL; truncation is fine for a message. Parsers and checks explain a
 * rejection this way so the caller decides whether to log or answer it.
 */
void kl_why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
