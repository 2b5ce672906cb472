/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The payload transport key ("NK"): an RSA-2048 key kept in payload_key so
 * that the value extended into PCR 16 stays the same across restarts. The
 * tenant and verifier encrypt U and V to it.
 */
#ifndef AGENT_NK_H
#define AGENT_NK_H

#include "agent.h"

/* Loads or creates the NK and fills a->nk, a->nk_pem and a->nk_digest (hash = tpm_hash_alg). */
int nk_load_or_create(struct agent *a);

#endif
