/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Growing a buffer that may hold a secret (a key file, a password in
 * agent.conf). realloc() may move the data and leave the old copy in freed
 * memory, unwiped; this copies, wipes the old buffer and frees it.
 */
#ifndef KL_MEM_H
#define KL_MEM_H

#include <stddef.h>

/*
 * A new buffer of new_cap bytes holding the first used bytes of old (NULL
 * allowed when used is 0); old (old_cap bytes) is wiped and freed. NULL on
 * ENOMEM, and then old is left as it was.
 */
void *kl_mem_grow_wiped(void *old, size_t used, size_t old_cap, size_t new_cap);

#endif
