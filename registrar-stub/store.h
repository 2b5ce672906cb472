/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The registrar stub's agent table in SQLite, through lib/store/db.h (only
 * lib/store/db.c includes sqlite3.h). One connection, serialised by a mutex, so
 * the HTTP worker threads may call in concurrently. Only prepared statements
 * touch the database. The `key` column is the MakeCredential secret's base64
 * text: it is never logged and wiped when a record is freed.
 */
#ifndef REG_STORE_H
#define REG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct reg_store; /* opaque */

struct reg_agent {
        char *agent_id;
        uint8_t *ek_tpm; /* marshalled TPM2B_PUBLIC */
        size_t ek_tpm_len;
        uint8_t *ekcert; /* DER; NULL = none */
        size_t ekcert_len;
        uint8_t *aik_tpm; /* marshalled TPM2B_PUBLIC */
        size_t aik_tpm_len;
        char *mtls_cert; /* PEM or "disabled"; NULL = none */
        char *ip;        /* NULL = none */
        int64_t port;    /* -1 = none */
        char *key;       /* base64(credential); secret */
        bool active;
        int64_t regcount;
        char *platform; /* JSON of the checked platform certificate's attributes; NULL = none */
};

/* path may be ":memory:". Creates the table when missing. */
int reg_store_open(const char *path, struct reg_store **ret);
void reg_store_close(struct reg_store *s); /* NULL-safe */

/* KL_ERR_NOT_FOUND when absent. The caller owns *ret (reg_agent_free). */
int reg_store_get(struct reg_store *s, const char *agent_id, struct reg_agent **ret);
/* Inserts or replaces the whole record. */
int reg_store_put(struct reg_store *s, const struct reg_agent *a);
int reg_store_set_active(struct reg_store *s, const char *agent_id, bool active);
/* KL_ERR_NOT_FOUND when absent. */
int reg_store_delete(struct reg_store *s, const char *agent_id);
/* All agent IDs in insertion order; caller frees each string and the array. */
int reg_store_list(struct reg_store *s, char ***ret_ids, size_t *ret_count);

/* Wipes the key and frees everything. NULL-safe. */
void reg_agent_free(struct reg_agent *a);

#endif
