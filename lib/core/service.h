/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What every long-running program here does around its server: parse the
 * --listen address, publish the bound port, and turn SIGINT/SIGTERM into a
 * synchronous event of the main thread.
 */
#ifndef KL_SERVICE_H
#define KL_SERVICE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/*
 * "HOST:PORT" or "[V6]:PORT" (brackets dropped) into host, a caller buffer
 * of host_len bytes, and port (0 to 65535; 0 lets the kernel pick).
 * KL_ERR_INVAL on an empty or too long host, a missing or bad port.
 */
int kl_parse_host_port(const char *s, char *host, size_t host_len, uint16_t *ret_port);
/*
 * Writes "PORT\n" to path atomically, so a test waiting for the file never
 * reads a partial number. 0 or a KL_ERR_* from kl_file_write_atomic().
 */
int kl_write_port_file(const char *path, uint16_t port);
/*
 * Blocks SIGINT and SIGTERM in the calling thread and ignores SIGPIPE. Call
 * before any thread starts, so every later thread inherits the mask and the
 * signals reach only kl_signals_wait(). Fills ret_mask for that call.
 * KL_ERR_SYSTEM if the mask cannot be set.
 */
int kl_signals_block(sigset_t *ret_mask);
/* Waits for SIGINT or SIGTERM (as blocked by kl_signals_block) and returns it. */
int kl_signals_wait(const sigset_t *mask);

#endif
