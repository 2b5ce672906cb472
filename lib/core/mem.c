/* SPDX-License-Identifier: Apache-2.0 */
/* Wiping buffer growth (see mem.h). */
#include "mem.h"

#include <stdlib.h>
#include <string.h>

void *kl_mem_grow_wiped(void *old, size_t used, size_t old_cap, size_t new_cap)
{
        void *p = malloc(new_cap);

        if (p == NULL)
                return NULL;
        if (old != NULL) {
                memcpy(p, old, used);
                explicit_bzero(old, old_cap);
                free(old);
        }
        return p;
}
