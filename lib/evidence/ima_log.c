/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Incremental IMA ASCII log reader (see ima_log.h; proto quote-format.md
 * section 5). It owns one read-only fd and a bounded index:
 *
 *   - the last known end: complete lines counted so far and the offset just
 *     after the last newline; new kernel lines are counted from there only;
 *   - at most CP_MAX checkpoints (line, offset) at lines that are multiples
 *     of `spacing`; when the table is full every other one is dropped and the
 *     spacing doubles, so the table covers any log size in constant memory.
 *
 * A line is located from whichever is nearer: the checkpoint at or before
 * it (scanning forward) or the known end (scanning backward), so the last k
 * lines cost O(k) and any line at most O(spacing) = O(lines / 32).
 *
 * All reads are pread into one fixed buffer; nothing is read into memory
 * except a slice returned whole, and that is capped. Must never seek the fd
 * (pread only) and never trust that the file is the one it indexed: a
 * shrunk file, or one whose byte before the known end is not a newline, is
 * re-indexed from zero. A slice is a range [pos, end) fixed when it was
 * made, on a duplicate of the fd, read with pread into its reader's buffer.
 */
#include "ima_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

#define CP_MAX      64u
#define CP_SPACING0 256u
#define BUF_SIZE    (64u * 1024u)

struct checkpoint {
        uint64_t line; /* line number that starts at off */
        uint64_t off;
};

struct kl_ima_log {
        int fd;
        uint64_t end_line; /* complete lines counted */
        uint64_t end_off;  /* offset just after the last counted newline */
        uint64_t spacing;
        size_t ncp;
        struct checkpoint cp[CP_MAX]; /* ascending; lines are multiples of spacing, > 0 */
        char buf[BUF_SIZE];
};

struct kl_ima_slice {
        int fd; /* a duplicate of the log's */
        uint64_t pos, end;
        uint64_t entry;
};

static void index_reset(struct kl_ima_log *log)
{
        log->end_line = 0;
        log->end_off = 0;
        log->spacing = CP_SPACING0;
        log->ncp = 0;
}

int kl_ima_log_open(const char *path, struct kl_ima_log **ret)
{
        struct kl_ima_log *log = NULL;
        int r = KL_ERR_INVAL;

        if (path == NULL || ret == NULL)
                goto out;
        if ((log = calloc(1, sizeof(*log))) == NULL) {
                r = KL_ERR_NOMEM;
                goto out;
        }
        log->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (log->fd < 0) {
                r = errno == ENOENT ? KL_ERR_NOT_FOUND : KL_ERR_IO;
                log_debug("open %s: %s", path, strerror(errno));
                goto out;
        }
        index_reset(log);
        *ret = log;
        log = NULL;
        r = 0;
out:
        kl_ima_log_free(log);
        return r;
}

void kl_ima_log_free(struct kl_ima_log *log)
{
        if (log == NULL)
                return;
        if (log->fd >= 0)
                (void)close(log->fd);
        free(log);
}

/* pread that retries on EINTR and short reads; returns bytes read (< n only at EOF). */
static ssize_t pread_full(int fd, char *buf, size_t n, uint64_t off)
{
        size_t got = 0;

        while (got < n) {
                ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -1;
                if (k == 0)
                        break;
                got += (size_t)k;
        }
        return (ssize_t)got;
}

static void checkpoint_add(struct kl_ima_log *log, uint64_t line, uint64_t off)
{
        size_t i, j;

        if (line % log->spacing != 0)
                return;
        if (log->ncp == CP_MAX) {
                /* full: keep every other one, so the spacing doubles and memory stays fixed */
                for (i = 0, j = 0; i < log->ncp; i++) {
                        if (log->cp[i].line % (2 * log->spacing) == 0)
                                log->cp[j++] = log->cp[i];
                }
                log->ncp = j;
                log->spacing *= 2;
                if (line % log->spacing != 0)
                        return;
        }
        log->cp[log->ncp].line = line;
        log->cp[log->ncp].off = off;
        log->ncp++;
}

/*
 * Counts the lines appended since the last call and returns the current end
 * of file in *ret_eof. securityfs reports size 0, so EOF is where pread
 * returns 0, not st_size.
 */
static int index_update(struct kl_ima_log *log, uint64_t *ret_eof)
{
        struct stat st;
        uint64_t pos;
        ssize_t n;
        char last;

        if (fstat(log->fd, &st) != 0)
                return KL_ERR_IO;
        if (log->end_off > 0) {
                /* a rewritten file: shorter, or no newline where our end was. securityfs
                 * reports st_size 0, so only a non-zero size can be compared. */
                if ((st.st_size > 0 && (uint64_t)st.st_size < log->end_off) ||
                    pread_full(log->fd, &last, 1, log->end_off - 1) != 1 || last != '\n') {
                        log_debug("IMA log shrank or changed; re-indexing");
                        index_reset(log);
                }
        }
        pos = log->end_off;
        for (;;) {
                const char *p, *nl, *end;

                n = pread_full(log->fd, log->buf, sizeof(log->buf), pos);
                if (n < 0)
                        return KL_ERR_IO;
                if (n == 0)
                        break;
                p = log->buf;
                end = log->buf + n;
                while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                        log->end_line++;
                        log->end_off = pos + (uint64_t)(nl - log->buf) + 1;
                        checkpoint_add(log, log->end_line, log->end_off);
                        p = nl + 1;
                }
                pos += (uint64_t)n;
                if ((size_t)n < sizeof(log->buf))
                        break;
        }
        *ret_eof = pos;
        return 0;
}

/* Offset of line `entry` scanning forward from a checkpoint before it. */
static int scan_forward(struct kl_ima_log *log, uint64_t line, uint64_t pos, uint64_t entry,
                        uint64_t *ret_off)
{
        while (line < entry) {
                const char *p, *nl, *end;
                ssize_t n = pread_full(log->fd, log->buf, sizeof(log->buf), pos);

                if (n <= 0)
                        return KL_ERR_IO; /* the indexed lines vanished under us */
                p = log->buf;
                end = log->buf + n;
                while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                        if (++line == entry) {
                                *ret_off = pos + (uint64_t)(nl - log->buf) + 1;
                                return 0;
                        }
                        p = nl + 1;
                }
                pos += (uint64_t)n;
        }
        *ret_off = pos;
        return 0;
}

/* Offset of line `entry` (< end_line) scanning backward from the known end. */
static int scan_backward(struct kl_ima_log *log, uint64_t entry, uint64_t *ret_off)
{
        /* the j-th newline before end_off ends line end_line - j; we want line entry - 1 */
        uint64_t want = log->end_line - entry + 1, seen = 0, pos = log->end_off;

        if (entry == 0) {
                *ret_off = 0;
                return 0;
        }
        while (pos > 0) {
                uint64_t start = pos > sizeof(log->buf) ? pos - sizeof(log->buf) : 0;
                size_t len = (size_t)(pos - start);
                const char *nl;

                if (pread_full(log->fd, log->buf, len, start) != (ssize_t)len)
                        return KL_ERR_IO;
                while ((nl = memrchr(log->buf, '\n', len)) != NULL) {
                        len = (size_t)(nl - log->buf);
                        if (++seen == want) {
                                *ret_off = start + len + 1;
                                return 0;
                        }
                }
                pos = start;
        }
        return KL_ERR_IO;
}

static int locate(struct kl_ima_log *log, uint64_t entry, uint64_t *ret_off)
{
        uint64_t line = 0, off = 0;
        size_t i;

        if (entry == 0) {
                *ret_off = 0;
                return 0;
        }
        if (entry == log->end_line) {
                *ret_off = log->end_off;
                return 0;
        }
        for (i = 0; i < log->ncp && log->cp[i].line <= entry; i++) {
                line = log->cp[i].line;
                off = log->cp[i].off;
        }
        /* costs in lines; ties go backward, the verifier's usual case (just the new tail) */
        if (log->end_line - entry <= entry - line)
                return scan_backward(log, entry, ret_off);
        return scan_forward(log, line, off, entry, ret_off);
}

int kl_ima_log_slice(struct kl_ima_log *log, uint64_t entry, struct kl_ima_slice **ret)
{
        struct kl_ima_slice *s = NULL;
        uint64_t eof = 0, off = 0;
        int r = KL_ERR_INVAL;

        if (log == NULL || ret == NULL)
                goto out;
        if ((r = index_update(log, &eof)) < 0)
                goto out;
        if (entry > log->end_line)
                entry = 0; /* Keylime: beyond the end means "start over" */
        if (entry == log->end_line) {
                /* nothing new: "" even if a partial line is being written */
                off = eof;
        } else if ((r = locate(log, entry, &off)) < 0) {
                goto out;
        }
        r = KL_ERR_NOMEM;
        if ((s = calloc(1, sizeof(*s))) == NULL)
                goto out;
        if ((s->fd = fcntl(log->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
                log_debug("dup of the IMA log: %s", strerror(errno));
                r = KL_ERR_SYSTEM;
                goto out;
        }
        s->pos = off;
        s->end = eof;
        s->entry = entry;
        *ret = s;
        s = NULL;
        r = 0;
out:
        kl_ima_slice_free(s);
        return r;
}

uint64_t kl_ima_slice_entry(const struct kl_ima_slice *s)
{
        return s->entry;
}

uint64_t kl_ima_slice_size(const struct kl_ima_slice *s)
{
        return s->end - s->pos;
}

ssize_t kl_ima_slice_read(struct kl_ima_slice *s, char *buf, size_t max)
{
        uint64_t left = s->end - s->pos;
        size_t n = left < max ? (size_t)left : max;
        ssize_t k;

        if (n == 0)
                return 0;
        if (n > SSIZE_MAX)
                n = SSIZE_MAX;
        do {
                k = pread(s->fd, buf, n, (off_t)s->pos);
        } while (k < 0 && errno == EINTR);
        if (k <= 0) {
                log_debug("IMA log at offset %llu: %s", (unsigned long long)s->pos,
                          k < 0 ? strerror(errno) : "ends before the slice does");
                return KL_ERR_IO;
        }
        s->pos += (uint64_t)k;
        return k;
}

int kl_ima_slice_read_all(struct kl_ima_slice *s, char **ret_text, size_t *ret_len)
{
        uint64_t len = s->end - s->pos;
        char *text = NULL;
        size_t got = 0;
        ssize_t k;
        int r = KL_ERR_TOO_LONG;

        if (len > KL_IMA_LOG_MAX_SLICE)
                goto out;
        r = KL_ERR_NOMEM;
        if ((text = malloc((size_t)len + 1)) == NULL)
                goto out;
        while (got < len) {
                if ((k = kl_ima_slice_read(s, text + got, (size_t)len - got)) < 0) {
                        r = (int)k;
                        goto out;
                }
                got += (size_t)k;
        }
        text[got] = '\0';
        *ret_text = text;
        *ret_len = got;
        text = NULL;
        r = 0;
out:
        free(text);
        return r;
}

static ssize_t slice_stream_read(void *cls, char *buf, size_t max)
{
        return kl_ima_slice_read(cls, buf, max);
}

static void slice_stream_free(void *cls)
{
        kl_ima_slice_free(cls);
}

struct kl_stream kl_ima_slice_stream(struct kl_ima_slice *s)
{
        return (struct kl_stream){.read = slice_stream_read, .free = slice_stream_free, .cls = s};
}

void kl_ima_slice_free(struct kl_ima_slice *s)
{
        if (s == NULL)
                return;
        if (s->fd >= 0)
                (void)close(s->fd);
        free(s);
}

int kl_ima_log_read_from(struct kl_ima_log *log, uint64_t entry, char **ret_text, size_t *ret_len,
                         uint64_t *ret_entry)
{
        struct kl_ima_slice *s = NULL;
        int r = KL_ERR_INVAL;

        if (ret_text == NULL || ret_len == NULL || ret_entry == NULL)
                goto out;
        if ((r = kl_ima_log_slice(log, entry, &s)) < 0 ||
            (r = kl_ima_slice_read_all(s, ret_text, ret_len)) < 0)
                goto out;
        *ret_entry = s->entry;
out:
        kl_ima_slice_free(s);
        return r;
}
