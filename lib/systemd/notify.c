/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sd_notify(3) messages (notify.h). A failure to notify is logged at debug
 * level only: the service works the same without a listener, and systemd
 * itself reports a Type=notify unit that never becomes ready.
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

static void send_state(const char *state)
{
        int r = sd_notify(0, state);

        if (r < 0)
                log_debug("sd_notify: %s", strerror(-r));
}

/* "PREFIXSTATUS=<formatted>"; STATUS= must be one line, so newlines become spaces. */
__attribute__((format(printf, 2, 0))) static void send_status(const char *prefix, const char *fmt,
                                                              va_list ap)
{
        char msg[512];
        int n = snprintf(msg, sizeof(msg), "%sSTATUS=", prefix);

        if (n < 0 || (size_t)n >= sizeof(msg))
                return;
        if (vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap) < 0)
                return;
        for (char *p = msg + n; *p != '\0'; p++)
                if (*p == '\n')
                        *p = ' ';
        send_state(msg);
}

void kl_notify_ready(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        send_status("READY=1\n", fmt, ap);
        va_end(ap);
}

void kl_notify_status(const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        send_status("", fmt, ap);
        va_end(ap);
}

void kl_notify_stopping(void)
{
        send_state("STOPPING=1");
}

int kl_notify_watchdog_ms(void)
{
        uint64_t usec = 0;

        if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
                return 0;
        usec /= 2; /* systemd's advice: ping at half the timeout */
        if (usec / 1000 > INT32_MAX)
                return INT32_MAX;
        return usec < 1000 ? 1 : (int)(usec / 1000);
}

void kl_notify_watchdog(void)
{
        send_state("WATCHDOG=1");
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kl_notify_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ms)
{
        int wd = kl_notify_watchdog_ms();
        int64_t end = timeout_ms >= 0 ? now_ms() + timeout_ms : INT64_MAX;

        for (;;) {
                int64_t left = timeout_ms >= 0 ? end - now_ms() : INT32_MAX;
                int step, r;

                if (left < 0)
                        left = 0;
                step = left > INT32_MAX ? INT32_MAX : (int)left;
                if (wd > 0 && step > wd)
                        step = wd;
                r = poll(fds, n, step);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r != 0 || (timeout_ms >= 0 && now_ms() >= end))
                        return r;
                if (wd > 0)
                        kl_notify_watchdog();
        }
}

int kl_notify_wait_signal(const sigset_t *mask)
{
        int wd = kl_notify_watchdog_ms();
        struct timespec step = {.tv_sec = wd / 1000, .tv_nsec = (long)(wd % 1000) * 1000000};

        for (;;) {
                int sig = wd > 0 ? sigtimedwait(mask, NULL, &step) : sigwaitinfo(mask, NULL);

                if (sig == SIGINT || sig == SIGTERM)
                        return sig;
                if (sig < 0 && errno == EAGAIN)
                        kl_notify_watchdog();
        }
}
