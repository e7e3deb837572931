/*
 * powercut-apply: after a process that ran under powercut.so was SIGKILLed, turn the files it
 * tracked into what a disk could hold had the power been cut at that moment instead.
 *
 *   cc -O2 -Wall -Wextra -o powercut-apply powercut-apply.c
 *   powercut-apply JOURNAL [--seed N] [--mode drop|torn] [--dump]
 *
 * For each file, the WRITE and TRUNC records after its last covering SYNC are its unsynced
 * operations. The durable image is the current file with all of them undone, newest first (each
 * record holds the bytes it overwrote and the size before it). Then:
 *   --mode drop   the durable image is the result: every unsynced operation lost.
 *   --mode torn   (default) the disk persisted an arbitrary subset of them: each is kept with a
 *                 probability drawn from the seed, and one unsynced write (chosen by the seed)
 *                 persists only a prefix of its bytes, cut at a random byte. The kept ones are
 *                 redone on the durable image in their original order (each record also holds
 *                 the bytes it wrote), which is right however they overlap. A file's size is its
 *                 durable size, extended by the kept writes that extend it (a gap left by a lost
 *                 write reads as zeros, as it would after a real crash) and cut by kept truncates.
 *   --dump        print the records, change nothing.
 * Directory operations (create, unlink, rename) are taken as durable when they return.
 *
 * Memory: the journal is read sequentially, once, keeping only the position and lengths of each
 * still-unsynced operation; the bytes are copied from the journal to the file in fixed chunks
 * when they are needed, so no record, however large, is ever held whole.
 *
 * Exit status: 0 done, 1 usage, 2 the journal is damaged or a file could not be restored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "powercut.h"

enum fate { F_DROP, F_KEEP, F_TORN };

struct op {
    uint64_t rec_off;  /* where the record starts in the journal (what SYNC and RESULT refer to) */
    uint64_t data_off; /* where its old bytes start; its new bytes follow them */
    uint64_t a0, a1, old_len, new_len;
    uint64_t torn_len; /* F_TORN: how many of the new bytes persist */
    uint16_t type;
    unsigned char failed; /* a RESULT said the operation did nothing (or, for a write, less) */
    unsigned char fate;
};

struct file {
    char *path;
    struct op *ops; /* unsynced operations, in journal order */
    size_t n, cap;
};

static struct file *files;
static size_t nfiles, capfiles;
static const char *journal;
static unsigned char buf[1 << 20];

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("powercut-apply: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    p = realloc(p, c * size);
    if (!p)
        fail("out of memory");
    *cap = c;
    return p;
}

static struct file *file_for(const char *path)
{
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].path, path) == 0)
            return &files[i];
    files = grow(files, &capfiles, nfiles + 1, sizeof *files);
    struct file *f = &files[nfiles++];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path)
        fail("out of memory");
    return f;
}

/* ---- reading the journal ----------------------------------------------------------------- */

static const char *type_name(unsigned t)
{
    switch (t) {
    case PC_WRITE: return "WRITE";
    case PC_TRUNC: return "TRUNC";
    case PC_SYNC: return "SYNC";
    case PC_UNLINK: return "UNLINK";
    case PC_RENAME: return "RENAME";
    case PC_RESULT: return "RESULT";
    }
    return "?";
}

struct journal_stats {
    uint64_t records, by_type[8], torn_tail, size;
};

/* One sequential pass: keep, per file, the operations that no later SYNC covers. */
static void read_journal(FILE *jf, int dump, struct journal_stats *js)
{
    char path[PC_PATH_MAX], path2[PC_PATH_MAX];
    uint64_t pos = 0;
    memset(js, 0, sizeof *js);
    struct stat st;
    if (fstat(fileno(jf), &st) != 0)
        fail("cannot stat %s: %s", journal, strerror(errno));
    js->size = (uint64_t)st.st_size;

    for (;;) {
        struct pc_header h;
        size_t got = fread(&h, 1, sizeof h, jf);
        if (got == 0 && feof(jf))
            break;
        if (ferror(jf))
            fail("cannot read %s: %s", journal, strerror(errno));
        if (got < sizeof h) { /* SIGKILL in the middle of appending the last record */
            js->torn_tail = js->size - pos;
            break;
        }
        if (h.magic != PC_MAGIC || h.check != pc_header_check(&h))
            fail("%s: no valid record at offset %" PRIu64 " (not a powercut journal, or damaged)", journal, pos);
        if (h.version != PC_VERSION)
            fail("%s: record version %u at offset %" PRIu64 ", this program reads version %u", journal, h.version,
                 pos, PC_VERSION);
        if (h.type < PC_WRITE || h.type > PC_RESULT || h.path_len == 0 || h.path_len >= PC_PATH_MAX ||
            h.path2_len >= PC_PATH_MAX || (h.type == PC_RENAME) != (h.path2_len > 0) ||
            ((h.type != PC_WRITE && h.type != PC_TRUNC) && (h.old_len || h.new_len)) ||
            (h.type == PC_TRUNC && h.new_len) || h.old_len > js->size || h.new_len > js->size)
            fail("%s: malformed %s record at offset %" PRIu64, journal, type_name(h.type), pos);
        uint64_t total = sizeof h + h.path_len + h.path2_len + h.old_len + h.new_len;
        if (pos + total > js->size) { /* the last record, cut short */
            js->torn_tail = js->size - pos;
            break;
        }
        if (fread(path, 1, h.path_len, jf) != h.path_len ||
            (h.path2_len && fread(path2, 1, h.path2_len, jf) != h.path2_len))
            fail("cannot read %s at offset %" PRIu64, journal, pos);
        path[h.path_len] = '\0';
        path2[h.path2_len] = '\0';
        js->records++;
        js->by_type[h.type]++;
        if (dump)
            printf("%10" PRIu64 " %-6s %s%s%s a0=%" PRIu64 " a1=%" PRIu64 " old=%" PRIu64 " new=%" PRIu64 "\n", pos,
                   type_name(h.type), path, h.path2_len ? " -> " : "", path2, h.a0, h.a1, h.old_len, h.new_len);

        struct file *f = file_for(path);
        switch (h.type) {
        case PC_WRITE:
        case PC_TRUNC:
            f->ops = grow(f->ops, &f->cap, f->n + 1, sizeof *f->ops);
            f->ops[f->n++] = (struct op){.rec_off = pos,
                                         .data_off = pos + sizeof h + h.path_len,
                                         .a0 = h.a0,
                                         .a1 = h.a1,
                                         .old_len = h.old_len,
                                         .new_len = h.new_len,
                                         .type = h.type};
            break;
        case PC_SYNC: { /* ops are in journal order: drop the prefix that starts before a0 */
            size_t k = 0;
            while (k < f->n && f->ops[k].rec_off < h.a0)
                k++;
            memmove(f->ops, f->ops + k, (f->n - k) * sizeof *f->ops);
            f->n -= k;
            break;
        }
        case PC_UNLINK:
            f->n = 0;
            break;
        case PC_RENAME: {
            if (strcmp(path, path2) == 0)
                break;
            struct file *t = file_for(path2);
            f = file_for(path); /* file_for may have moved the array */
            free(t->ops);
            t->ops = f->ops;
            t->n = f->n;
            t->cap = f->cap;
            f->ops = NULL;
            f->n = f->cap = 0;
            break;
        }
        case PC_RESULT:
            for (size_t i = f->n; i-- > 0;)
                if (f->ops[i].rec_off == h.a0) {
                    if (f->ops[i].type == PC_WRITE && h.a1 < f->ops[i].new_len)
                        f->ops[i].new_len = h.a1;
                    if (f->ops[i].type == PC_TRUNC || h.a1 == 0)
                        f->ops[i].failed = 1;
                    break;
                }
            break; /* not found: the operation was synced already, nothing to adjust */
        }
        pos += total;
        if (fseeko(jf, (off_t)pos, SEEK_SET) != 0)
            fail("cannot seek %s: %s", journal, strerror(errno));
    }
}

/* ---- restoring --------------------------------------------------------------------------- */

/* Copy len bytes at journal offset src to the file at offset dst, in chunks. */
static void copy_bytes(int jfd, uint64_t src, int fd, const char *path, uint64_t dst, uint64_t len)
{
    while (len > 0) {
        size_t want = len < sizeof buf ? (size_t)len : sizeof buf;
        ssize_t n = pread(jfd, buf, want, (off_t)src);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            fail("cannot read %s at offset %" PRIu64 ": %s", journal, src, n < 0 ? strerror(errno) : "end of file");
        for (ssize_t done = 0; done < n;) {
            ssize_t w = pwrite(fd, buf + done, (size_t)(n - done), (off_t)(dst + (uint64_t)done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                fail("cannot write %s at offset %" PRIu64 ": %s", path, dst, w < 0 ? strerror(errno) : "no progress");
            done += w;
        }
        src += (uint64_t)n;
        dst += (uint64_t)n;
        len -= (uint64_t)n;
    }
}

static void set_size(int fd, const char *path, uint64_t size)
{
    if (ftruncate(fd, (off_t)size) != 0)
        fail("cannot set the size of %s to %" PRIu64 ": %s", path, size, strerror(errno));
}

/* splitmix64: small, seedable, and the same on every machine, so a seed replays a cut. */
static uint64_t rng;
static uint64_t next_random(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void usage(void)
{
    fprintf(stderr, "usage: powercut-apply JOURNAL [--seed N] [--mode drop|torn] [--dump]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    int torn_mode = 1, dump = 0, seeded = 0;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            seed = strtoull(argv[++i], &end, 0);
            if (errno || *end || !*argv[i])
                usage();
            seeded = 1;
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "drop") == 0)
                torn_mode = 0;
            else if (strcmp(argv[i], "torn") == 0)
                torn_mode = 1;
            else
                usage();
        } else if (strcmp(argv[i], "--dump") == 0) {
            dump = 1;
        } else if (argv[i][0] == '-' || journal) {
            usage();
        } else {
            journal = argv[i];
        }
    }
    if (!journal)
        usage();
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "powercut") && getenv("POWERCUT_JOURNAL"))
        fail("refusing to run under LD_PRELOAD=%s: its own restoring writes would be journaled", pre);
    if (!seeded)
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    rng = seed;

    FILE *jf = fopen(journal, "rb");
    if (!jf)
        fail("cannot open %s: %s", journal, strerror(errno));
    struct journal_stats js;
    read_journal(jf, dump, &js);
    if (dump) {
        printf("%" PRIu64 " records, %" PRIu64 " bytes of torn tail ignored\n", js.records, js.torn_tail);
        return 0;
    }

    /* Decide every fate before touching a file, in journal order per file, so a seed always
     * means the same cut for the same journal. */
    double keep_p = torn_mode ? (double)(next_random() >> 11) / 9007199254740992.0 : 0.0;
    uint64_t unsynced = 0, writes = 0, truncs = 0, dropped = 0, kept = 0, eligible = 0;
    size_t dirty = 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (files[i].n)
            dirty++;
        for (size_t j = 0; j < files[i].n; j++) {
            struct op *o = &files[i].ops[j];
            if (o->failed && (o->type == PC_TRUNC || o->new_len == 0))
                continue; /* did nothing, so there is nothing to lose */
            unsynced++;
            if (o->type == PC_WRITE)
                writes++;
            else
                truncs++;
            o->fate = (torn_mode && (double)(next_random() >> 11) / 9007199254740992.0 < keep_p) ? F_KEEP : F_DROP;
            if (torn_mode && o->type == PC_WRITE && o->new_len >= 2)
                eligible++;
        }
    }
    struct op *torn = NULL;
    const char *torn_path = NULL;
    if (eligible) {
        uint64_t pick = next_random() % eligible;
        for (size_t i = 0; i < nfiles && !torn; i++)
            for (size_t j = 0; j < files[i].n && !torn; j++) {
                struct op *o = &files[i].ops[j];
                if (o->failed && o->new_len == 0)
                    continue;
                if (o->type == PC_WRITE && o->new_len >= 2 && pick-- == 0) {
                    torn = o;
                    torn_path = files[i].path;
                    o->fate = F_TORN;
                    o->torn_len = 1 + next_random() % (o->new_len - 1);
                }
            }
    }

    int jfd = fileno(jf);
    size_t missing = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct file *f = &files[i];
        if (!f->n)
            continue;
        int fd = open(f->path, O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            /* Deleted without an UNLINK record (killed between the unlink and its record, or by a
             * program the shim did not see): nothing is left to restore. */
            fprintf(stderr, "powercut-apply: warning: %s is gone; its %zu unsynced operations are moot\n", f->path,
                    f->n);
            missing++;
            continue;
        }
        if (fd < 0)
            fail("cannot open %s: %s", f->path, strerror(errno));
        /* Undo newest first: the durable image. Old bytes back, then the size before. */
        for (size_t j = f->n; j-- > 0;) {
            struct op *o = &f->ops[j];
            copy_bytes(jfd, o->data_off, fd, f->path, o->a0, o->old_len);
            set_size(fd, f->path, o->a1);
        }
        /* Redo, oldest first, what the disk happened to persist. */
        for (size_t j = 0; j < f->n; j++) {
            struct op *o = &f->ops[j];
            if (o->fate == F_DROP || (o->failed && (o->type == PC_TRUNC || o->new_len == 0)))
                continue;
            if (o->fate == F_KEEP)
                kept++;
            if (o->type == PC_TRUNC)
                set_size(fd, f->path, o->a0);
            else
                copy_bytes(jfd, o->data_off + o->old_len, fd, f->path, o->a0,
                           o->fate == F_TORN ? o->torn_len : o->new_len);
        }
        if (fsync(fd) != 0) /* the restored image is what the next run must find, even after a reboot */
            fail("cannot fsync %s: %s", f->path, strerror(errno));
        if (close(fd) != 0)
            fail("cannot close %s: %s", f->path, strerror(errno));
    }
    dropped = unsynced - kept - (torn ? 1 : 0);

    printf("powercut-apply: %zu file%s with %" PRIu64 " unsynced operations (%" PRIu64 " writes, %" PRIu64
           " truncates): %" PRIu64 " dropped, %" PRIu64 " kept, %d torn",
           dirty, dirty == 1 ? "" : "s", unsynced, writes, truncs, dropped, kept, torn ? 1 : 0);
    if (torn)
        printf(" (%s at %" PRIu64 ": %" PRIu64 " of %" PRIu64 " bytes)", torn_path, torn->a0, torn->torn_len,
               torn->new_len);
    printf(" [mode %s, seed %" PRIu64 ", keep p=%.2f; journal %" PRIu64 " records, %" PRIu64
           " syncs, %" PRIu64 " bytes of torn tail]%s\n",
           torn_mode ? "torn" : "drop", seed, keep_p, js.records, js.by_type[PC_SYNC], js.torn_tail,
           missing ? " (some files were gone)" : "");
    fclose(jf);
    return 0;
}
