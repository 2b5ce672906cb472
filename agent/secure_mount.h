/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secure storage for K and decrypted payloads: a tmpfs at <keylime_dir>/secure
 * (keys-and-payloads.md §8), so secrets never reach a disk. Mounting needs
 * root: call before the privilege drop.
 */
#ifndef AGENT_SECURE_MOUNT_H
#define AGENT_SECURE_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Makes <keylime_dir>/secure ready and writes its path into ret_path.
 * As root: uses an existing tmpfs mounted there with mode 700, otherwise
 * mounts one (size = secure_size, mode 0700, nosuid, nodev) and checks in
 * /proc/self/mountinfo that it took. Refuses (KL_ERR_CONFIG, logged) a
 * symlink, a non-directory, or a mount point of another type or mode there
 * (CVE-2022-23948). Not root: a 0700 directory, with a warning.
 */
int secure_mount_setup(const struct kl_agent_config *cfg, char *ret_path, size_t path_len);

/*
 * What /proc/self/mountinfo (text in mountinfo) says about mount point path:
 * false when it is not a mount point; else its type and superblock options.
 * Pure, for tests.
 */
bool secure_mount_lookup(const char *mountinfo, const char *path, char *ret_type, size_t type_len,
                         char *ret_opts, size_t opts_len);

/* secure_size ("1m", "512k", "2g", digits) in bytes; 0 for "%" sizes or junk. */
uint64_t secure_mount_size_bytes(const char *size);

#endif
