/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Leaving root for good (STYLE §6). The agent starts as root only to open the
 * TPM device and the root-only logs; everything network-facing runs as the
 * run_as user (Keylime default "keylime:tss": /dev/tpmrm0 belongs to group tss).
 */
#ifndef AGENT_PRIVILEGES_H
#define AGENT_PRIVILEGES_H

/*
 * Gives the files the agent keeps under dir (agent_data.json, TLS and payload
 * keys, secure/) to the run_as user and group, so that a later start that is
 * already unprivileged can still read and rewrite them. Walks the tree with
 * openat(O_NOFOLLOW) and fchownat(AT_SYMLINK_NOFOLLOW) so a symlink planted in
 * the directory cannot redirect a chown. No-op when not root or run_as is empty.
 */
int privileges_chown_dir(const char *run_as, const char *dir);

/*
 * run_as is "user:group". As root: supplementary groups of user (initgroups),
 * then setresgid, then setresuid, then proves that uid 0 cannot come back
 * (setuid(0) and seteuid(0) must fail) and sets no-new-privs. Not root: logs
 * a warning and keeps the current ids. NULL or "": keeps root (logged).
 * Returns 0, KL_ERR_CONFIG for a malformed value or unknown user/group,
 * KL_ERR_SYSTEM when a call fails, KL_ERR_INTERNAL when root could come back.
 * Call before any thread starts: the set*id calls act on this thread only.
 */
int privileges_drop(const char *run_as);

#endif
