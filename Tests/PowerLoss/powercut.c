/*
 * powercut.so: an LD_PRELOAD shim that journals every change to chosen files so that, after the
 * process is SIGKILLed, powercut-apply can turn those files into what a disk could hold after a
 * POWER CUT: writes that were not fsynced lost, some of them kept, one torn. A SIGKILL alone
 * loses nothing the process wrote (the page cache survives it), so it cannot test durability.
 * Same idea as LazyFS and SQLite's crash-test VFS, but below any VFS, at the libc boundary, so
 * the real SQLite library of the system runs unmodified.
 *
 *   cc -shared -fPIC -O2 -Wall -Wextra -o powercut.so powercut.c -ldl -lpthread
 *
 * Environment (the shim does nothing unless both of the first two are set):
 *   POWERCUT_PREFIX       absolute path prefix; files whose opened path starts with it are
 *                         tracked, except names ending in "-shm" (SQLite's wal-index, rebuilt
 *                         from the WAL after a crash, and not something a power cut must keep).
 *   POWERCUT_JOURNAL      absolute path of the undo journal, appended to (outside the prefix).
 *   POWERCUT_IGNORE_FSYNC when set and not "0": fsync/fdatasync of a tracked file return 0
 *                         without syncing and without making anything durable: a disk that lies.
 *
 * For each write to a tracked file the journal gets, before the write is made, the bytes it will
 * overwrite, the file size before it, and the bytes it writes (see powercut.h). A successful
 * fsync/fdatasync appends a SYNC record. The journal itself is never fsynced: the tests SIGKILL
 * the process and the page cache survives that; only the tracked files get the power-cut
 * treatment, by powercut-apply.
 *
 * Tracked writes are serialised under one mutex *including the write itself*, so that the
 * journal's order is the order in which overlapping writes reached the file and the old bytes
 * read are exactly the ones the write replaces. SQLite has one writer at a time anyway.
 * Untracked descriptors (stdout, sockets, other files) are passed through after one atomic
 * load, without the mutex.
 */
#undef _FORTIFY_SOURCE /* the fortified headers turn open() into an inline wrapper we could not define */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "powercut.h"

#define EXPORT __attribute__((visibility("default")))

/* Descriptors at or above this are never tracked; opening a tracked file at one is fatal rather
 * than silently unjournaled. */
#define MAX_FDS 65536

static struct {
    int (*open)(const char *, int, ...);
    int (*open64)(const char *, int, ...);
    int (*openat)(int, const char *, int, ...);
    int (*openat64)(int, const char *, int, ...);
    int (*open_2)(const char *, int);
    int (*open64_2)(const char *, int);
    int (*openat_2)(int, const char *, int);
    int (*openat64_2)(int, const char *, int);
    int (*creat)(const char *, mode_t);
    int (*creat64)(const char *, mode_t);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
    ssize_t (*pwritev64)(int, const struct iovec *, int, off64_t);
    int (*ftruncate)(int, off_t);
    int (*ftruncate64)(int, off64_t);
    int (*fsync)(int);
    int (*fdatasync)(int);
    int (*unlink)(const char *);
    int (*unlinkat)(int, const char *, int);
    int (*rename)(const char *, const char *);
    int (*renameat)(int, const char *, int, const char *);
} real;

struct entry {
    char *path;    /* absolute path it was opened (or last renamed) as */
    dev_t dev;     /* identity at open: a descriptor closed behind our back (fclose, close_range)
                      and reused for something else must not be taken for the tracked file */
    ino_t ino;
    int sync_each; /* opened O_SYNC/O_DSYNC: every write is durable when it returns */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int active;        /* both variables set and the journal open */
static int ignore_fsync;
static char *prefix;      /* as given */
static char *cprefix;     /* canonical form (symlinks resolved), or NULL; SQLite opens canonical paths */
static char *journal_path;
static int jfd = -1;
static _Atomic unsigned char tracked[MAX_FDS]; /* lock-free fast path: is this fd tracked? */
static struct entry entries[MAX_FDS];          /* guarded by mu */
static int max_fd_seen = -1;                   /* highest fd ever tracked; bounds the scans */
static unsigned char copybuf[65536];           /* guarded by mu */

/* ---- errors ------------------------------------------------------------------------------ */

/* Losing the journal would make every later verdict of the test meaningless, so any journal
 * failure stops the process loudly. Written with the real write(): stdio would come back into
 * our own write() while we may hold the mutex. */
__attribute__((noreturn)) static void die(const char *what, const char *detail, int err)
{
    char msg[PC_PATH_MAX + 256];
    int n = snprintf(msg, sizeof msg, "powercut.so: %s%s%s%s%s\n", what, detail ? " " : "", detail ? detail : "",
                     err ? ": " : "", err ? strerror(err) : "");
    if (n > (int)sizeof msg - 1)
        n = (int)sizeof msg - 1;
    if (real.write)
        (void)real.write(2, msg, (size_t)n);
    abort();
}

/* ---- set-up ------------------------------------------------------------------------------ */

static void *sym(const char *name, int required)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (!p && required)
        die("cannot find the real", name, 0);
    return p;
}

static void lock_all(void) { pthread_mutex_lock(&mu); }
static void unlock_all(void) { pthread_mutex_unlock(&mu); }

/* The prefix with symlinks resolved, keeping a trailing '/' if it had one. If the prefix names a
 * file that does not exist yet, its directory is resolved and the last component kept. */
static char *canonical(const char *p)
{
    char buf[PATH_MAX], out[PATH_MAX + 2];
    size_t n = strlen(p);
    if (realpath(p, buf)) {
        snprintf(out, sizeof out, "%s%s", buf, (n > 1 && p[n - 1] == '/') ? "/" : "");
        return strdup(out);
    }
    const char *slash = strrchr(p, '/');
    if (!slash || slash[1] == '\0')
        return NULL;
    char dir[PATH_MAX];
    size_t dn = (size_t)(slash - p);
    if (dn >= sizeof dir)
        return NULL;
    memcpy(dir, p, dn);
    dir[dn] = '\0';
    if (!realpath(dn ? dir : "/", buf))
        return NULL;
    snprintf(out, sizeof out, "%s/%s", strcmp(buf, "/") ? buf : "", slash + 1);
    return strdup(out);
}

static int starts_with(const char *s, const char *p) { return p && strncmp(s, p, strlen(p)) == 0; }

static int wants(const char *abs)
{
    size_t n = strlen(abs);
    if (n >= PC_PATH_MAX)
        return 0;
    if (n >= 4 && strcmp(abs + n - 4, "-shm") == 0)
        return 0;
    if (journal_path && strcmp(abs, journal_path) == 0)
        return 0;
    return starts_with(abs, prefix) || starts_with(abs, cprefix);
}

static void child_after_fork(void)
{
    pthread_mutex_unlock(&mu);
}

static void init(void)
{
    real.write = sym("write", 1); /* first: die() needs it */
    real.open = sym("open", 1);
    real.open64 = sym("open64", 1);
    real.openat = sym("openat", 1);
    real.openat64 = sym("openat64", 1);
    real.open_2 = sym("__open_2", 0);
    real.open64_2 = sym("__open64_2", 0);
    real.openat_2 = sym("__openat_2", 0);
    real.openat64_2 = sym("__openat64_2", 0);
    real.creat = sym("creat", 1);
    real.creat64 = sym("creat64", 1);
    real.close = sym("close", 1);
    real.dup = sym("dup", 1);
    real.dup2 = sym("dup2", 1);
    real.dup3 = sym("dup3", 1);
    real.pwrite = sym("pwrite", 1);
    real.pwrite64 = sym("pwrite64", 1);
    real.writev = sym("writev", 1);
    real.pwritev = sym("pwritev", 1);
    real.pwritev64 = sym("pwritev64", 1);
    real.ftruncate = sym("ftruncate", 1);
    real.ftruncate64 = sym("ftruncate64", 1);
    real.fsync = sym("fsync", 1);
    real.fdatasync = sym("fdatasync", 1);
    real.unlink = sym("unlink", 1);
    real.unlinkat = sym("unlinkat", 1);
    real.rename = sym("rename", 1);
    real.renameat = sym("renameat", 1);

    const char *p = getenv("POWERCUT_PREFIX"), *j = getenv("POWERCUT_JOURNAL");
    if (!p || !*p || !j || !*j)
        return;
    if (p[0] != '/')
        die("POWERCUT_PREFIX must be an absolute path, not", p, 0);
    if (j[0] != '/')
        die("POWERCUT_JOURNAL must be an absolute path, not", j, 0);
    prefix = strdup(p);
    cprefix = canonical(p);
    journal_path = canonical(j);
    if (!prefix || !journal_path)
        die("cannot resolve the directory of POWERCUT_JOURNAL", j, errno);
    if (starts_with(journal_path, prefix) || starts_with(journal_path, cprefix))
        die("POWERCUT_JOURNAL must lie outside POWERCUT_PREFIX:", journal_path, 0);
    /* O_APPEND: a child that execs (and so gets its own copy of the shim) appends whole records
     * after ours. O_CLOEXEC: that child opens its own descriptor. */
    jfd = real.open(j, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (jfd < 0)
        die("cannot open POWERCUT_JOURNAL", j, errno);
    const char *ig = getenv("POWERCUT_IGNORE_FSYNC");
    ignore_fsync = ig && *ig && strcmp(ig, "0") != 0;
    pthread_atfork(lock_all, unlock_all, child_after_fork);
    active = 1;
}

static inline void ensure_init(void) { pthread_once(&once, init); }

/* At load, so that a misconfiguration stops the program at once, not at its first open. The
 * wrappers still call ensure_init(): another library's constructor may run before this one. */
__attribute__((constructor)) static void at_load(void) { ensure_init(); }

/* ---- the fd table ------------------------------------------------------------------------ */

static inline int is_tracked_fast(int fd)
{
    return fd >= 0 && fd < MAX_FDS && atomic_load_explicit(&tracked[fd], memory_order_acquire);
}

static void untrack(int fd) /* mu held */
{
    if (fd < 0 || fd >= MAX_FDS || !atomic_load_explicit(&tracked[fd], memory_order_relaxed))
        return;
    atomic_store_explicit(&tracked[fd], 0, memory_order_release);
    free(entries[fd].path);
    entries[fd].path = NULL;
}

static void track(int fd, const char *abs, const struct stat *st, int sync_each) /* mu held */
{
    if (fd >= MAX_FDS)
        die("a tracked file got a descriptor too high to track:", abs, 0);
    untrack(fd);
    char *copy = strdup(abs);
    if (!copy)
        die("out of memory tracking", abs, ENOMEM);
    entries[fd] = (struct entry){.path = copy, .dev = st->st_dev, .ino = st->st_ino, .sync_each = sync_each};
    if (fd > max_fd_seen)
        max_fd_seen = fd;
    atomic_store_explicit(&tracked[fd], 1, memory_order_release);
}

/* The entry of a tracked fd, if it still refers to the file it was opened on; *st gets the
 * file's current state (its size is the "size before" of the next record). */
static struct entry *checked_entry(int fd, struct stat *st) /* mu held */
{
    if (!is_tracked_fast(fd))
        return NULL;
    if (fstat(fd, st) != 0 || st->st_dev != entries[fd].dev || st->st_ino != entries[fd].ino) {
        untrack(fd);
        return NULL;
    }
    return &entries[fd];
}

/* Absolute form of path as seen from dirfd, without resolving symlinks or "..": SQLite opens
 * canonical absolute paths already. Returns 0, or -1 if it cannot be formed. */
static int absolute(int dirfd, const char *path, char out[PC_PATH_MAX])
{
    char base[PC_PATH_MAX];
    if (!path)
        return -1;
    if (path[0] == '/') {
        if (strlen(path) >= PC_PATH_MAX)
            return -1;
        strcpy(out, path);
        return 0;
    }
    if (dirfd == AT_FDCWD) {
        if (!getcwd(base, sizeof base))
            return -1;
    } else {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
        ssize_t n = readlink(link, base, sizeof base - 1);
        if (n <= 0)
            return -1;
        base[n] = '\0';
    }
    int n = snprintf(out, PC_PATH_MAX, "%s/%s", strcmp(base, "/") ? base : "", path);
    return (n > 0 && n < PC_PATH_MAX) ? 0 : -1;
}

/* ---- the journal ------------------------------------------------------------------------- */

static void jwrite_all(const void *buf, size_t len) /* mu held */
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = real.write(jfd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("cannot append to the journal", journal_path, n < 0 ? errno : EIO);
        p += n;
        len -= (size_t)n;
    }
}

static uint64_t jend(void) /* mu held */
{
    off_t at = lseek(jfd, 0, SEEK_END);
    if (at < 0)
        die("cannot seek the journal", journal_path, errno);
    return (uint64_t)at;
}

/* Append one record; returns its offset in the journal. The old bytes are copied from src_fd at
 * src_off in chunks (a truncation can cut off more than any buffer we would want to hold); if
 * the file turns out shorter than it was a moment ago (someone else shrank it) the rest is
 * zero-filled so the record keeps the length its header promised. */
static uint64_t jappend(uint16_t type, const char *path, const char *path2, uint64_t a0, uint64_t a1, int src_fd,
                        uint64_t src_off, uint64_t old_len, const struct iovec *niov, int niovcnt,
                        uint64_t new_len) /* mu held */
{
    uint64_t at = jend();
    struct pc_header h;
    memset(&h, 0, sizeof h);
    h.magic = PC_MAGIC;
    h.version = PC_VERSION;
    h.type = type;
    h.path_len = (uint32_t)strlen(path);
    h.path2_len = path2 ? (uint32_t)strlen(path2) : 0;
    h.a0 = a0;
    h.a1 = a1;
    h.old_len = old_len;
    h.new_len = new_len;
    h.check = pc_header_check(&h);
    jwrite_all(&h, sizeof h);
    jwrite_all(path, h.path_len);
    if (h.path2_len)
        jwrite_all(path2, h.path2_len);

    uint64_t left = old_len, pos = src_off;
    int short_read = 0;
    while (left > 0) {
        size_t want = left < sizeof copybuf ? (size_t)left : sizeof copybuf;
        ssize_t n = short_read ? 0 : pread(src_fd, copybuf, want, (off_t)pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("cannot read the old bytes of", path, errno);
        if (n == 0) {
            short_read = 1;
            memset(copybuf, 0, want);
            n = (ssize_t)want;
        }
        jwrite_all(copybuf, (size_t)n);
        left -= (uint64_t)n;
        pos += (uint64_t)n;
    }
    /* The new bytes straight from the caller's buffers, capped at new_len (the caller computed
     * it from the same iovecs). */
    uint64_t want_new = new_len;
    for (int i = 0; i < niovcnt && want_new > 0; i++) {
        size_t l = niov[i].iov_len < want_new ? niov[i].iov_len : (size_t)want_new;
        jwrite_all(niov[i].iov_base, l);
        want_new -= l;
    }
    return at;
}

/* A descriptor from which the current bytes of the file behind fd can be read: fd itself unless
 * it is write-only, else a fresh read-only open through /proc (works even if the file was
 * renamed). *opened says whether the caller must close it. */
static int reader_for(int fd, const char *path, int *opened)
{
    *opened = 0;
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_ACCMODE) != O_WRONLY)
        return fd;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int r = real.open(link, O_RDONLY | O_CLOEXEC);
    if (r < 0)
        r = real.open(path, O_RDONLY | O_CLOEXEC);
    if (r < 0)
        die("cannot open for reading the old bytes of", path, errno);
    *opened = 1;
    return r;
}

/* ---- writes ------------------------------------------------------------------------------ */

enum wkind { W_WRITE, W_PWRITE, W_PWRITE64, W_WRITEV, W_PWRITEV, W_PWRITEV64 };

static ssize_t real_write_call(enum wkind k, int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    switch (k) {
    case W_WRITE: return real.write(fd, iov[0].iov_base, iov[0].iov_len);
    case W_PWRITE: return real.pwrite(fd, iov[0].iov_base, iov[0].iov_len, off);
    case W_PWRITE64: return real.pwrite64(fd, iov[0].iov_base, iov[0].iov_len, off);
    case W_WRITEV: return real.writev(fd, iov, iovcnt);
    case W_PWRITEV: return real.pwritev(fd, iov, iovcnt, off);
    case W_PWRITEV64: return real.pwritev64(fd, iov, iovcnt, off);
    }
    errno = ENOSYS;
    return -1;
}

static ssize_t do_write(enum wkind k, int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    ensure_init();
    if (!is_tracked_fast(fd))
        return real_write_call(k, fd, iov, iovcnt, off);

    pthread_mutex_lock(&mu);
    struct stat st;
    struct entry *e = checked_entry(fd, &st);
    uint64_t len = 0;
    for (int i = 0; iov && i < iovcnt; i++)
        len += iov[i].iov_len;
    off_t pos = -1;
    if (e) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && (fl & O_APPEND))
            pos = st.st_size; /* Linux appends even for pwrite on an O_APPEND descriptor */
        else if (k == W_WRITE || k == W_WRITEV)
            pos = lseek(fd, 0, SEEK_CUR);
        else
            pos = off;
    }
    if (!e || len == 0 || iovcnt < 0 || pos < 0) {
        /* Not ours, nothing written, or an invalid call the kernel will reject. */
        pthread_mutex_unlock(&mu);
        return real_write_call(k, fd, iov, iovcnt, off);
    }

    uint64_t old_size = (uint64_t)st.st_size, upos = (uint64_t)pos;
    uint64_t old_len = upos < old_size ? (old_size - upos < len ? old_size - upos : len) : 0;
    int opened = 0;
    int rfd = old_len ? reader_for(fd, e->path, &opened) : -1;
    uint64_t rec = jappend(PC_WRITE, e->path, NULL, upos, old_size, rfd, upos, old_len, iov, iovcnt, len);
    if (opened)
        real.close(rfd);

    ssize_t r = real_write_call(k, fd, iov, iovcnt, off);
    int err = errno;
    if (r != (ssize_t)len)
        jappend(PC_RESULT, e->path, NULL, rec, r < 0 ? 0 : (uint64_t)r, -1, 0, 0, NULL, 0, 0);
    if (r > 0 && e->sync_each && !ignore_fsync)
        jappend(PC_SYNC, e->path, NULL, jend(), 0, -1, 0, 0, NULL, 0, 0);
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct iovec v = {(void *)buf, n};
    return do_write(W_WRITE, fd, &v, 1, 0);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    struct iovec v = {(void *)buf, n};
    return do_write(W_PWRITE, fd, &v, 1, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    struct iovec v = {(void *)buf, n};
    return do_write(W_PWRITE64, fd, &v, 1, off);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt) { return do_write(W_WRITEV, fd, iov, iovcnt, 0); }

EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
    return do_write(W_PWRITEV, fd, iov, iovcnt, off);
}

EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int iovcnt, off64_t off)
{
    return do_write(W_PWRITEV64, fd, iov, iovcnt, off);
}

/* ---- truncation and sync ----------------------------------------------------------------- */

static int do_ftruncate(int use64, int fd, off64_t length)
{
    ensure_init();
    if (!is_tracked_fast(fd) || length < 0)
        return use64 ? real.ftruncate64(fd, length) : real.ftruncate(fd, (off_t)length);
    pthread_mutex_lock(&mu);
    struct stat st;
    struct entry *e = checked_entry(fd, &st);
    if (!e) {
        pthread_mutex_unlock(&mu);
        return use64 ? real.ftruncate64(fd, length) : real.ftruncate(fd, (off_t)length);
    }
    uint64_t old_size = (uint64_t)st.st_size, nsize = (uint64_t)length;
    uint64_t cut = nsize < old_size ? old_size - nsize : 0;
    int opened = 0;
    int rfd = cut ? reader_for(fd, e->path, &opened) : -1;
    uint64_t rec = jappend(PC_TRUNC, e->path, NULL, nsize, old_size, rfd, nsize, cut, NULL, 0, 0);
    if (opened)
        real.close(rfd);
    int r = use64 ? real.ftruncate64(fd, length) : real.ftruncate(fd, (off_t)length);
    int err = errno;
    if (r != 0)
        jappend(PC_RESULT, e->path, NULL, rec, 0, -1, 0, 0, NULL, 0, 0);
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

EXPORT int ftruncate(int fd, off_t length) { return do_ftruncate(0, fd, length); }
EXPORT int ftruncate64(int fd, off64_t length) { return do_ftruncate(1, fd, length); }

static int do_sync(int data_only, int fd)
{
    ensure_init();
    if (!is_tracked_fast(fd))
        return data_only ? real.fdatasync(fd) : real.fsync(fd);
    char path[PC_PATH_MAX];
    struct stat st;
    pthread_mutex_lock(&mu);
    struct entry *e = checked_entry(fd, &st);
    if (!e) {
        pthread_mutex_unlock(&mu);
        return data_only ? real.fdatasync(fd) : real.fsync(fd);
    }
    if (ignore_fsync) { /* the lying disk: report success, make nothing durable */
        pthread_mutex_unlock(&mu);
        return 0;
    }
    strcpy(path, e->path);
    /* Only what was journaled before the sync started is covered: records that other threads
     * append while it runs may or may not reach the disk. */
    uint64_t boundary = jend();
    pthread_mutex_unlock(&mu);

    int r = data_only ? real.fdatasync(fd) : real.fsync(fd);
    int err = errno;
    if (r == 0) {
        pthread_mutex_lock(&mu);
        e = checked_entry(fd, &st); /* it may have been renamed meanwhile: name it as it is now */
        jappend(PC_SYNC, e ? e->path : path, NULL, boundary, 0, -1, 0, 0, NULL, 0, 0);
        pthread_mutex_unlock(&mu);
    }
    errno = err;
    return r;
}

EXPORT int fsync(int fd) { return do_sync(0, fd); }
EXPORT int fdatasync(int fd) { return do_sync(1, fd); }

/* ---- opening and closing ----------------------------------------------------------------- */

enum okind { O_K_OPEN, O_K_OPEN64, O_K_OPENAT, O_K_OPENAT64, O_K_OPEN_2, O_K_OPEN64_2, O_K_OPENAT_2,
             O_K_OPENAT64_2, O_K_CREAT, O_K_CREAT64 };

static int real_open_call(enum okind k, int dirfd, const char *path, int flags, mode_t mode)
{
    switch (k) {
    case O_K_OPEN: return real.open(path, flags, mode);
    case O_K_OPEN64: return real.open64(path, flags, mode);
    case O_K_OPENAT: return real.openat(dirfd, path, flags, mode);
    case O_K_OPENAT64: return real.openat64(dirfd, path, flags, mode);
    case O_K_OPEN_2: return real.open_2 ? real.open_2(path, flags) : real.open(path, flags);
    case O_K_OPEN64_2: return real.open64_2 ? real.open64_2(path, flags) : real.open64(path, flags);
    case O_K_OPENAT_2: return real.openat_2 ? real.openat_2(dirfd, path, flags) : real.openat(dirfd, path, flags);
    case O_K_OPENAT64_2:
        return real.openat64_2 ? real.openat64_2(dirfd, path, flags) : real.openat64(dirfd, path, flags);
    case O_K_CREAT: return real.creat(path, mode);
    case O_K_CREAT64: return real.creat64(path, mode);
    }
    errno = ENOSYS;
    return -1;
}

static int do_open(enum okind k, int dirfd, const char *path, int flags, mode_t mode)
{
    ensure_init();
    if (!active)
        return real_open_call(k, dirfd, path, flags, mode);
    char abs[PC_PATH_MAX];
    int ours = (flags & O_TMPFILE) != O_TMPFILE && absolute(dirfd, path, abs) == 0 && wants(abs);
    if (!ours)
        return real_open_call(k, dirfd, path, flags, mode);

    pthread_mutex_lock(&mu);
    /* O_TRUNC throws data away like ftruncate(0) does; journal what it cuts before it happens. */
    uint64_t trunc_rec = UINT64_MAX;
    if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
        int rfd = real.open(abs, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (rfd >= 0) {
            if (fstat(rfd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
                trunc_rec = jappend(PC_TRUNC, abs, NULL, 0, (uint64_t)st.st_size, rfd, 0, (uint64_t)st.st_size,
                                    NULL, 0, 0);
            real.close(rfd);
        }
    }
    int fd = real_open_call(k, dirfd, path, flags, mode);
    int err = errno;
    if (fd < 0) {
        if (trunc_rec != UINT64_MAX)
            jappend(PC_RESULT, abs, NULL, trunc_rec, 0, -1, 0, 0, NULL, 0, 0);
    } else {
        struct stat st;
        untrack(fd); /* a stale entry for a number the kernel handed out again */
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            track(fd, abs, &st, (flags & (O_SYNC | O_DSYNC)) != 0);
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return fd;
}

/* The mode argument exists only when the flags create a file. */
#define OPEN_MODE(flags, last)                                                                                      \
    mode_t mode = 0;                                                                                              \
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {                                                  \
        va_list ap;                                                                                               \
        va_start(ap, last);                                                                                       \
        mode = va_arg(ap, mode_t);                                                                                \
        va_end(ap);                                                                                               \
    }

EXPORT int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    return do_open(O_K_OPEN, AT_FDCWD, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    return do_open(O_K_OPEN64, AT_FDCWD, path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    return do_open(O_K_OPENAT, dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags);
    return do_open(O_K_OPENAT64, dirfd, path, flags, mode);
}

/* What _FORTIFY_SOURCE builds call instead of open/openat when the flags are not constant. */
EXPORT int __open_2(const char *path, int flags) { return do_open(O_K_OPEN_2, AT_FDCWD, path, flags, 0); }
EXPORT int __open64_2(const char *path, int flags) { return do_open(O_K_OPEN64_2, AT_FDCWD, path, flags, 0); }
EXPORT int __openat_2(int dirfd, const char *path, int flags) { return do_open(O_K_OPENAT_2, dirfd, path, flags, 0); }
EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return do_open(O_K_OPENAT64_2, dirfd, path, flags, 0);
}

EXPORT int creat(const char *path, mode_t mode)
{
    return do_open(O_K_CREAT, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

EXPORT int creat64(const char *path, mode_t mode)
{
    return do_open(O_K_CREAT64, AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

EXPORT int close(int fd)
{
    ensure_init();
    if (active && fd == jfd)
        return 0; /* a program closing every descriptor must not take our journal with it */
    if (is_tracked_fast(fd)) {
        /* Forget it before the number is released: once closed, another thread may get the
         * same number from open() and track it. */
        pthread_mutex_lock(&mu);
        untrack(fd);
        pthread_mutex_unlock(&mu);
    }
    return real.close(fd);
}

static int after_dup(int oldfd, int newfd)
{
    if (newfd < 0 || newfd == oldfd || !active)
        return newfd;
    int err = errno;
    pthread_mutex_lock(&mu);
    untrack(newfd);
    struct stat st;
    struct entry *e = checked_entry(oldfd, &st);
    if (e) {
        struct entry copy = *e;
        track(newfd, copy.path, &st, copy.sync_each);
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return newfd;
}

EXPORT int dup(int fd)
{
    ensure_init();
    return after_dup(fd, real.dup(fd));
}

EXPORT int dup2(int fd, int fd2)
{
    ensure_init();
    return after_dup(fd, real.dup2(fd, fd2));
}

EXPORT int dup3(int fd, int fd2, int flags)
{
    ensure_init();
    return after_dup(fd, real.dup3(fd, fd2, flags));
}

/* ---- names ------------------------------------------------------------------------------- */

/* Untrack every descriptor open on path (mu held): after an unlink they write to a file no
 * crash can bring back, and a new file may take the name. */
static void untrack_path(const char *path)
{
    for (int fd = 0; fd <= max_fd_seen; fd++)
        if (atomic_load_explicit(&tracked[fd], memory_order_relaxed) && strcmp(entries[fd].path, path) == 0)
            untrack(fd);
}

static int path_is_open(const char *path) /* mu held */
{
    for (int fd = 0; fd <= max_fd_seen; fd++)
        if (atomic_load_explicit(&tracked[fd], memory_order_relaxed) && strcmp(entries[fd].path, path) == 0)
            return 1;
    return 0;
}

static int do_unlink(int at, int dirfd, const char *path, int flags)
{
    ensure_init();
    char abs[PC_PATH_MAX];
    if (!active || (at && (flags & AT_REMOVEDIR)) || absolute(at ? dirfd : AT_FDCWD, path, abs) != 0 ||
        !wants(abs))
        return at ? real.unlinkat(dirfd, path, flags) : real.unlink(path);
    pthread_mutex_lock(&mu);
    int r = at ? real.unlinkat(dirfd, path, flags) : real.unlink(path);
    int err = errno;
    if (r == 0) {
        jappend(PC_UNLINK, abs, NULL, 0, 0, -1, 0, 0, NULL, 0, 0);
        untrack_path(abs);
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

EXPORT int unlink(const char *path) { return do_unlink(0, AT_FDCWD, path, 0); }
EXPORT int unlinkat(int dirfd, const char *path, int flags) { return do_unlink(1, dirfd, path, flags); }

static int do_rename(int at, int olddir, const char *from, int newdir, const char *to)
{
    ensure_init();
    char af[PC_PATH_MAX], ato[PC_PATH_MAX];
    if (!active || absolute(at ? olddir : AT_FDCWD, from, af) != 0 || absolute(at ? newdir : AT_FDCWD, to, ato) != 0)
        return at ? real.renameat(olddir, from, newdir, to) : real.rename(from, to);
    pthread_mutex_lock(&mu);
    /* A file renamed out of the prefix still carries its unsynced writes with it. */
    if (!(wants(af) || wants(ato) || path_is_open(af)) || strcmp(af, ato) == 0) {
        pthread_mutex_unlock(&mu);
        return at ? real.renameat(olddir, from, newdir, to) : real.rename(from, to);
    }
    int r = at ? real.renameat(olddir, from, newdir, to) : real.rename(from, to);
    int err = errno;
    if (r == 0) {
        jappend(PC_RENAME, af, ato, 0, 0, -1, 0, 0, NULL, 0, 0);
        untrack_path(ato); /* the file that had the name is gone */
        for (int fd = 0; fd <= max_fd_seen; fd++)
            if (atomic_load_explicit(&tracked[fd], memory_order_relaxed) && strcmp(entries[fd].path, af) == 0) {
                char *copy = strdup(ato);
                if (!copy)
                    die("out of memory renaming", ato, ENOMEM);
                free(entries[fd].path);
                entries[fd].path = copy;
            }
    }
    pthread_mutex_unlock(&mu);
    errno = err;
    return r;
}

EXPORT int rename(const char *from, const char *to) { return do_rename(0, AT_FDCWD, from, AT_FDCWD, to); }
EXPORT int renameat(int olddir, const char *from, int newdir, const char *to)
{
    return do_rename(1, olddir, from, newdir, to);
}
