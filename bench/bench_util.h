/* SPDX-License-Identifier: Apache-2.0 */
/* What the C benchmark programs share: timing samples and option numbers. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

/* Monotonic time in milliseconds. */
double bench_now_ms(void);
/* Prints "OP MILLISECONDS" since t0, the line bench/run.sh collects. */
void bench_sample(const char *op, double t0);
/* A whole number (decimal, 0x hex or 0 octal) in [min, max]; -1 otherwise. */
int bench_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret);

#endif
