/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Payload delivery on arbitrary bytes (payload_deliver with extract_zip):
 * zip parsing, the name, type, count, size and ratio checks, extraction and
 * the clean-up after a refusal, into a temporary secure directory that is
 * emptied after every input and removed at exit.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void remove_dir(void)
{
        (void)payload_remove_tree(AT_FDCWD, dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const uint8_t k[32];
        struct payload_opts o = {
            .secure_dir = dir,
            .enc_keyname = "derived_tci_key",
            .dec_payload_file = "decrypted_payload",
            .extract_zip = true,
            .script = "",
        };

        if (dir[0] == '\0') {
                snprintf(dir, sizeof(dir), "%s", "/tmp/kl-fuzz-zip.XXXXXX");
                if (mkdtemp(dir) == NULL)
                        abort();
                atexit(remove_dir);
        }
        payload_limits_default(&o.lim, 4u << 20); /* small: keeps each run fast */
        (void)payload_deliver(&o, k, sizeof(k), data, size);
        (void)payload_remove_tree(AT_FDCWD, dir);
        if (mkdir(dir, 0700) != 0)
                abort();
        return 0;
}
