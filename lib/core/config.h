/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent configuration: Keylime's agent.conf ([agent] table), merged from
 * built-in defaults, /usr/etc/keylime/agent.conf, /usr/etc/keylime/agent.conf.d/,
 * /etc/keylime/agent.conf, /etc/keylime/agent.conf.d/ (lexicographic order;
 * later wins) or only $KEYLIME_AGENT_CONFIG when set, then KEYLIME_AGENT_<OPTION>
 * environment overrides and KEYLIME_DIR. Unknown keys warn; a bad value is an
 * error naming the option and its source (file:line or the variable).
 *
 * After loading, "default" and relative path options are resolved against
 * keylime_dir (or "/" for the log paths), so every path field is absolute.
 * Options the agent does not implement are listed by kl_agent_config_unsupported().
 */
#ifndef KL_CONFIG_H
#define KL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KL_CONFIG_MAX_SOURCES 32

struct kl_agent_config {
        /* general / identity */
        char *version;
        char *api_versions; /* raw list string ("default", "latest", "2.1, 2.2") */
        char *uuid;         /* raw: a UUID, "generate", "hash_ek", "hostname", ... */
        char *ip;
        uint16_t port;
        char *contact_ip;
        uint16_t contact_port;
        char *keylime_dir;     /* absolute */
        char *agent_data_path; /* resolved */
        char *run_as;
        char *ima_ml_path;          /* resolved */
        char *measuredboot_ml_path; /* resolved */
        /* registrar */
        char *registrar_ip;
        uint16_t registrar_port;
        bool registrar_tls_enabled;
        uint16_t registrar_tls_port;
        char *registrar_tls_ca_cert; /* resolved */
        char *registrar_api_versions;
        uint32_t exponential_backoff_initial_delay; /* ms */
        uint32_t exponential_backoff_max_retries;
        uint32_t exponential_backoff_max_delay; /* ms */
        /* TLS */
        bool enable_agent_mtls;
        char *server_key; /* resolved */
        char *server_key_password;
        char *certified_server_key; /* a TPM key's name, or "" (not upstream) */
        char *server_cert;          /* resolved */
        char *trusted_client_ca;    /* raw list; entries resolved by the user of it */
        bool tls_accept_invalid_certs;
        bool tls_accept_invalid_hostnames;
        /* payload and keys */
        char *payload_key; /* resolved */
        char *payload_key_password;
        char *enc_keyname;
        char *dec_payload_file;
        char *secure_size;
        bool extract_payload_zip;
        char *payload_script;
        bool enable_insecure_payload;
        /* revocation */
        bool enable_revocation_notifications;
        char *revocation_notification_ip;
        uint16_t revocation_notification_port;
        char *revocation_cert; /* resolved */
        char *revocation_actions;
        char *revocation_actions_dir;
        bool allow_payload_revocation_actions;
        /* TPM */
        char *tpm_hash_alg;
        char *tpm_encryption_alg;
        char *tpm_signing_alg;
        char *ek_handle;
        char *tpm_ownerpassword;
        char *platform_cert; /* resolved file, or "" = from NV (not upstream) */
        /* IAK / IDevID */
        bool enable_iak_idevid;
        char *iak_idevid_template;
        char *iak_idevid_asymmetric_alg;
        char *iak_idevid_name_alg;
        char *iak_handle;
        char *idevid_handle;
        char *iak_password;
        char *idevid_password;
        char *iak_cert;
        char *idevid_cert;
        /* push model (accepted, unused by the pull agent) */
        char *verifier_url;
        char *verifier_tls_ca_cert;
        uint32_t attestation_interval_seconds;
        char *certification_keys_server_identifier;
        char *uefi_logs_evidence_version;

        /* where the values came from, for --check and error messages */
        char *sources[KL_CONFIG_MAX_SOURCES];
        size_t n_sources;
};

/*
 * Loads the configuration. root is prepended to /usr/etc/keylime and
 * /etc/keylime (NULL or "" for the real system; tests pass a temp dir).
 * Environment variables are read with secure_getenv. On error logs one
 * line per problem (naming the option) and returns KL_ERR_CONFIG;
 * KL_ERR_NOMEM on allocation failure.
 */
int kl_agent_config_load(const char *root, struct kl_agent_config **ret_cfg);
void kl_agent_config_free(struct kl_agent_config *cfg);

/*
 * Names of options this agent does not honour (so start-up can report them):
 * those set to a non-default value that asks for something not implemented,
 * and those whose whole feature is not implemented yet. Pointers into a
 * static table; returns how many, NULL-terminated when there is room.
 */
size_t kl_agent_config_unsupported(const struct kl_agent_config *cfg, const char **ret_names,
                                   size_t max);

/*
 * Keylime list syntax (api_versions, trusted_client_ca, revocation_actions):
 * items separated by commas and/or whitespace, optionally in [ ]; empty items
 * dropped. *ret_items is a NULL-terminated heap array of heap strings; free
 * with kl_strv_free.
 */
int kl_config_parse_list(const char *s, char ***ret_items, size_t *ret_n);
void kl_strv_free(char **v);

#endif
