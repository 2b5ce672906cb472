/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OpenSSL behind one interface, one header per job: primitives.h (digests,
 * HMAC, AES, randomness, wiping), pkey.h (key objects and key files), asym.h
 * (RSA-OAEP, signature checks, ECDH) and x509.h. Every OpenSSL failure is
 * logged once in this room (the whole error queue drained) and returned as
 * KL_ERR_CRYPTO. Buffers are caller-owned unless a ret_ parameter says
 * otherwise. Secret outputs are wiped by kl_secure_free.
 */
#ifndef KL_CRYPTO_H
#define KL_CRYPTO_H

#include "asym.h"
#include "pkey.h"
#include "primitives.h"
#include "x509.h"

#endif
