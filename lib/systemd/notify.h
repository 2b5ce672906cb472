/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Readiness and liveness for systemd (Type=notify, WatchdogSec=): the only
 * file that calls libsystemd. Every call is a no-op when the program does
 * not run under a service manager that asked for notifications
 * (NOTIFY_SOCKET unset), so programs call them unconditionally.
 */
#ifndef KL_NOTIFY_H
#define KL_NOTIFY_H

#include <poll.h>
#include <signal.h>
#include <stdint.h>

/* READY=1 with STATUS=<text>: the service does what it is for from now on. */
void kl_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STATUS=<text>: the phase the service is in, shown by systemctl status. */
void kl_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1: shutdown has begun. */
void kl_notify_stopping(void);
/*
 * How often to call kl_notify_watchdog, in ms: half of WatchdogSec=, or 0
 * when the watchdog is off (then never call it).
 */
int kl_notify_watchdog_ms(void);
/* WATCHDOG=1: the main loop is alive. */
void kl_notify_watchdog(void);
/*
 * poll(2) for up to timeout_ms (-1: no limit) that sends WATCHDOG=1 at the
 * watchdog's pace while it waits, so a program blocked on purpose (a
 * registration back-off, waiting for a stop signal) is not killed for it.
 * Returns what poll returns; EINTR is retried.
 */
int kl_notify_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ms);
/*
 * Waits for SIGINT or SIGTERM, blocked by kl_signals_block(), pinging the
 * watchdog meanwhile; returns the signal.
 */
int kl_notify_wait_signal(const sigset_t *mask);

#endif
