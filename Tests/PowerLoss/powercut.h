/*
 * The undo journal shared by powercut.so (which writes it) and powercut-apply (which reads it).
 *
 * The journal is a plain sequence of records, each a fixed header followed by its payload:
 *     path (path_len bytes, no NUL), path2 (path2_len bytes, RENAME only),
 *     old bytes (old_len), new bytes (new_len).
 * It is written with the host's byte order and read on the same machine, so no conversion.
 * There is no file header: every record carries the magic, so a journal appended to by a
 * process and then by a child it started stays readable.
 *
 * A record's header is written before its payload and before the write it describes, so a
 * SIGKILL can only leave the *last* record incomplete; the reader ignores such a tail. A header
 * whose check does not match anywhere else means the journal is not ours or is damaged.
 */
#ifndef POWERCUT_H
#define POWERCUT_H

#include <stdint.h>

#define PC_MAGIC 0x4a435750u /* "PWCJ" read as little-endian bytes */
#define PC_VERSION 1

enum pc_type {
    /* A write about to be made: a0 = file offset, a1 = file size before it.
     * old = the bytes it overwrites (only those that existed), new = the bytes it writes. */
    PC_WRITE = 1,
    /* A truncation (ftruncate, or open with O_TRUNC): a0 = new size, a1 = size before.
     * old = the bytes cut off, i.e. [a0, a1) when shrinking; empty when growing. */
    PC_TRUNC = 2,
    /* fsync/fdatasync of path returned 0: every record of that path that starts before
     * journal offset a0 is durable. An offset rather than "everything so far" because another
     * thread may append records while the sync runs, and those are not covered by it. */
    PC_SYNC = 3,
    /* path was unlinked. Directory operations are taken as durable at once, so the file's
     * earlier unsynced records no longer matter. */
    PC_UNLINK = 4,
    /* path was renamed to path2 (durable at once, like UNLINK). The unsynced records of path
     * follow the file to path2; whatever path2 was before is gone. */
    PC_RENAME = 5,
    /* The operation of the WRITE or TRUNC record at journal offset a0 did less than it said:
     * a1 = bytes actually written (0 for a failed write or a failed truncation). Appended only
     * when the result differs from the request. */
    PC_RESULT = 6,
};

struct pc_header {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t path_len;
    uint32_t path2_len;
    uint64_t a0;
    uint64_t a1;
    uint64_t old_len;
    uint64_t new_len;
    uint64_t check; /* pc_header_check() of all the fields above */
};

/* Paths longer than this are not tracked (and a record claiming one is rejected). */
#define PC_PATH_MAX 4096

/* FNV-1a over the header bytes before `check`: catches a journal that is not ours or was
 * overwritten, before lengths read from it are trusted. */
static inline uint64_t pc_header_check(const struct pc_header *h)
{
    const unsigned char *p = (const unsigned char *)h;
    uint64_t x = 1469598103934665603ull;
    for (unsigned long i = 0; i < (unsigned long)((const char *)&h->check - (const char *)h); i++) {
        x ^= p[i];
        x *= 1099511628211ull;
    }
    return x;
}

#endif
