/* SPDX-License-Identifier: Apache-2.0 */
/* String table for enum kl_err, and the reason text callers get back. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

const char *kl_err_str(int err)
{
        switch (err) {
        case KL_OK:
                return "success";
        case KL_ERR_NOMEM:
                return "out of memory";
        case KL_ERR_INVAL:
                return "invalid argument or malformed input";
        case KL_ERR_TOO_LONG:
                return "input too long";
        case KL_ERR_IO:
                return "I/O error";
        case KL_ERR_NO_SPACE:
                return "No space left on device";
        case KL_ERR_SYSTEM:
                return "system call failed";
        case KL_ERR_INTERNAL:
                return "internal error";
        case KL_ERR_NOT_FOUND:
                return "not found";
        case KL_ERR_EXISTS:
                return "already exists";
        case KL_ERR_UNSUPPORTED:
                return "not supported";
        case KL_ERR_CANCELED:
                return "canceled by a signal";
        case KL_ERR_CONFIG:
                return "configuration error";
        case KL_ERR_CRYPTO:
                return "cryptographic operation failed";
        case KL_ERR_VERIFY:
                return "verification failed";
        case KL_ERR_KEY_MISMATCH:
                return "keys do not match";
        case KL_ERR_TPM:
                return "TPM command failed";
        case KL_ERR_TPM_OPEN:
                return "TPM could not be opened";
        case KL_ERR_TPM_RETRY:
                return "TPM busy, retry";
        case KL_ERR_TPM_AUTH:
                return "TPM authorization failed";
        case KL_ERR_TPM_LOCKOUT:
                return "TPM in dictionary-attack lockout";
        case KL_ERR_TPM_LOST:
                return "connection to the TPM lost";
        case KL_ERR_TPM_HANDLE:
                return "TPM handle does not exist";
        case KL_ERR_TPM_POLICY:
                return "TPM PCR policy not satisfied: the PCRs changed since the object was sealed";
        case KL_ERR_TPM_WRAP:
                return "TPM refused the blob: not wrapped for this TPM's EK, or altered";
        case KL_ERR_HTTP:
                return "HTTP transport error";
        case KL_ERR_HTTP_STATUS:
                return "unexpected HTTP status";
        case KL_ERR_DB:
                return "database error";
        default:
                return "unknown error";
        }
}

void kl_why_set(char *why, size_t why_len, const char *fmt, ...)
{
        va_list ap;

        if (why == NULL || why_len == 0)
                return;
        va_start(ap, fmt);
        if (vsnprintf(why, why_len, fmt, ap) < 0)
                why[0] = '\0';
        va_end(ap);
}
