/* SPDX-License-Identifier: Apache-2.0 */
/* The hash algorithm table; see hash_alg.h. */
#include "hash_alg.h"

#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct kl_hash_alg algs[] = {
    {KL_ALG_SHA1, "sha1", "Sha1", 20, true},
    {KL_ALG_SHA256, "sha256", "Sha256", 32, true},
    {KL_ALG_SHA384, "sha384", "Sha384", 48, true},
    {KL_ALG_SHA512, "sha512", "Sha512", 64, true},
    {KL_ALG_SM3_256, "sm3_256", "Sm3_256", 32, false},
};

const struct kl_hash_alg *kl_hash_alg_by_id(uint16_t id)
{
        for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
                if (algs[i].id == id)
                        return &algs[i];
        }
        return NULL;
}

const struct kl_hash_alg *kl_hash_alg_by_name(const char *name)
{
        if (name == NULL)
                return NULL;
        for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
                if (strcmp(algs[i].name, name) == 0)
                        return &algs[i];
        }
        return NULL;
}

uint16_t kl_hash_alg_from_name(const char *name)
{
        const struct kl_hash_alg *h = kl_hash_alg_by_name(name);

        return h != NULL && h->supported ? h->id : 0;
}

const char *kl_hash_alg_name(uint16_t id)
{
        const struct kl_hash_alg *h = kl_hash_alg_by_id(id);

        return h != NULL && h->supported ? h->name : NULL;
}

size_t kl_hash_alg_digest_len(uint16_t id)
{
        const struct kl_hash_alg *h = kl_hash_alg_by_id(id);

        return h != NULL && h->supported ? h->digest_len : 0;
}

const struct kl_hash_alg *kl_hash_alg_at(size_t i)
{
        return i < ARRAY_SIZE(algs) ? &algs[i] : NULL;
}
