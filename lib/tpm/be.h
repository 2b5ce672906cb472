/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Big-endian integers as TPM structures carry them (TPM 2.0 Part 2, 5.1),
 * for the files of lib/tpm that lay out bytes by hand. Callers check room.
 */
#ifndef KL_TPM_BE_H
#define KL_TPM_BE_H

#include <stddef.h>
#include <stdint.h>

static inline void kl_be16_put(uint8_t *p, size_t v)
{
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
}

static inline void kl_be32_put(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static inline size_t kl_be16_get(const uint8_t *p)
{
        return (size_t)p[0] << 8 | p[1];
}

static inline uint32_t kl_be32_get(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
