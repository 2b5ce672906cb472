/* SPDX-License-Identifier: Apache-2.0 */
/* Timing samples and option numbers for the benchmark programs (bench_util.h). */
#include "bench_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void bench_sample(const char *op, double t0)
{
        printf("%s %.3f\n", op, bench_now_ms() - t0);
}

int bench_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 0);
        if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
                return -1;
        *ret = v;
        return 0;
}
