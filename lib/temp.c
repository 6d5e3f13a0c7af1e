/*
 * temp.c — the temporary files outputs are written to before their rename,
 * made so that a later run can tell one a dead run left behind from one a
 * live run is writing, and the sweep that removes the dead ones
 * (tes_temp_create, tes_temp_clean).
 *
 * A temporary is ".NAME.tmp-XXXXXX" beside its output. Its writer holds an
 * exclusive flock(2) on it for its whole life, and it starts with the
 * format's magic bytes, written once the lock is held. It is made unnamed
 * (O_TMPFILE) and linked into the folder only once locked and marked, so
 * that a kill at any moment leaves nothing or a file the sweep knows;
 * where the filesystem has no unnamed files it is made by name, and a kill
 * in the first instants leaves an empty file, removed once ten minutes
 * old. The lock is the
 * liveness test: the kernel drops it when the last descriptor of the
 * writer's open file description closes, which a killed process's exit
 * does, so "unlocked" is "dead" with no guess about PIDs (reused or not).
 * The writer's identity (host, boot id, pid and the process's start time)
 * also goes into the extended attribute user.tessera.writer where the
 * filesystem keeps them: it names the writer in messages, and it keeps a
 * sweep on one host away from another host's temporaries on a network
 * filesystem, where a lock taken elsewhere may not be visible here (NFS
 * mounted with nolock or local_lock=flock keeps flock locks on the
 * client). Where locks do reach the server (NFSv4, or v3 with lockd) a
 * dead client's lock lasts until its lease expires (about 90 s on NFSv4):
 * its temporary then looks alive, which errs the safe way.
 */
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "raster_internal.h"

#define XATTR_NAME "user.tessera.writer"
#define ID_MAX 320
/* An empty temporary with no writer recorded is a dead run's once it is
 * this old (seconds). */
#define EMPTY_AGE_S 600

/* The calling process as "tessera 1 HOST BOOT PID START": the boot id
 * and the start time (clock ticks after boot, /proc/PID/stat field 22)
 * tell a reused pid from the writer. */
static unsigned long long start_ticks(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    /* the command name may hold spaces and parentheses: skip to its end */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

static void boot_id(char *b, size_t n)
{
    snprintf(b, n, "-");
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t k = read(fd, b, n - 1);
    close(fd);
    if (k <= 0) {
        snprintf(b, n, "-");
        return;
    }
    b[k] = 0;
    b[strcspn(b, "\n ")] = 0;
}

static void host_name(char *b, size_t n)
{
    if (gethostname(b, n - 1) != 0 || !b[0])
        snprintf(b, n, "-");
    b[n - 1] = 0;
    for (char *p = b; *p; p++) /* one word */
        if (*p == ' ')
            *p = '_';
}

static void my_identity(char *id, size_t n)
{
    char host[128], boot[64];
    host_name(host, sizeof host);
    boot_id(boot, sizeof boot);
    long pid = (long)getpid();
    snprintf(id, n, "tessera 1 %s %s %ld %llu", host, boot, pid,
             start_ticks(pid));
}

/* A name for a temporary of path: ".NAME.tmp-XXXXXX" beside it, the six
 * characters from mkstemp's alphabet, drawn from the clock, the pid, a
 * counter and the attempt. */
static char *temp_path(const char *path)
{
    char *d = strdup(path), *b = strdup(path);
    size_t len = strlen(path) + 32;
    char *t = malloc(len);
    if (!d || !b || !t) {
        free(d);
        free(b);
        free(t);
        return NULL;
    }
    snprintf(t, len, "%s/.%s.tmp-XXXXXX", dirname(d), basename(b));
    free(d);
    free(b);
    return t;
}

static void fill_suffix(char *t, unsigned attempt)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    /* relaxed: any value will do, the counter only spreads names of
     * temporaries made at once by threads of one process */
    static _Atomic unsigned long long calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long z = (unsigned long long)ts.tv_nsec ^
                           ((unsigned long long)ts.tv_sec << 30) ^
                           ((unsigned long long)getpid() << 40) ^
                           (atomic_fetch_add_explicit(&calls, 1,
                                                      memory_order_relaxed)
                            << 20) ^
                           attempt;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    char *x = t + strlen(t) - 6;
    for (int i = 0; i < 6; i++, z /= 62)
        x[i] = abc[z % 62];
}

/* Locks f, records its writer and writes the magic: what lets a sweep
 * judge the file. Returns 0 or the write's errno. */
static int prepare(int f, const void *magic, size_t n)
{
    /* Nobody else has this new file: the lock cannot be refused, except
     * where the filesystem has no locks at all (then liveness is left to
     * the identity below). */
    (void)flock(f, LOCK_EX | LOCK_NB);
    char id[ID_MAX];
    my_identity(id, sizeof id);
    /* Best effort: filesystems without user xattrs keep only the lock. */
    (void)fsetxattr(f, XATTR_NAME, id, strlen(id), 0);
    return n ? tes__pwrite_all(f, magic, n, 0) : 0;
}

/* Gives the unnamed file f (O_TMPFILE) the name t, drawing another
 * suffix while the name is taken. Returns 0 or an errno. */
static int link_unnamed(int f, char *t)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f);
    for (unsigned a = 0; a < 64; a++) {
        fill_suffix(t, a);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, t, AT_SYMLINK_FOLLOW) == 0)
            return 0;
        int e = errno;
        if (e == EEXIST)
            continue;
        /* no /proc: the descriptor itself, where the process may */
        if (linkat(f, "", AT_FDCWD, t, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno != EEXIST)
            return e;
    }
    return EEXIST;
}

TES_API int tes_temp_create(const char *path, const void *magic, size_t n,
                            char **tmp, int *fd, tes_raster_error *err)
{
    if (!path || !*path || !tmp || !fd || (n && !magic))
        return tes__err(err, -EINVAL, path, "invalid argument");
    *tmp = NULL;
    *fd = -1;
    char *t = temp_path(path);
    char *dir = t ? strndup(t, (size_t)(strrchr(t, '/') - t)) : NULL;
    if (!t || !dir) {
        free(t);
        return tes__err(err, -ENOMEM, path, "out of memory");
    }
    /* Made unnamed, then locked, recorded and given its magic, and only
     * then linked into the folder: a kill at any moment leaves nothing,
     * or a file a sweep recognises as a dead run's. */
    int f = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    int e = f < 0 ? errno : 0;
    free(dir);
    if (f >= 0) {
        e = prepare(f, magic, n);
        if (e) {
            close(f);
            free(t);
            return tes__err(err, -e, path, "cannot write beside it: %s",
                            strerror(e));
        }
        if (link_unnamed(f, t) == 0) {
            *tmp = t;
            *fd = f;
            return 0;
        }
        close(f); /* cannot be linked here: made with its name instead */
    } else if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL) {
        free(t);
        return tes__err(err, -e, path, "cannot create a file beside it: %s",
                        strerror(e));
    }
    /* No unnamed files on this filesystem: made with its name, so that a
     * kill before the magic leaves an empty file (judge() below). */
    memcpy(t + strlen(t) - 6, "XXXXXX", 6);
    f = mkostemp(t, O_CLOEXEC);
    if (f < 0) {
        e = errno;
        free(t);
        return tes__err(err, -e, path, "cannot create a file beside it: %s",
                        strerror(e));
    }
    e = prepare(f, magic, n);
    if (e) {
        close(f);
        unlink(t);
        free(t);
        return tes__err(err, -e, path, "cannot write beside it: %s",
                        strerror(e));
    }
    *tmp = t;
    *fd = f;
    return 0;
}

/* ".NAME.tmp-XXXXXX": six characters of mkstemp's alphabet. */
static bool temp_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 + 1 + 5 + 6 || s[0] != '.')
        return false;
    if (memcmp(s + n - 11, ".tmp-", 5) != 0)
        return false;
    for (size_t i = n - 6; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* The outputs we write: TIFF, BigTIFF (either byte order) and PNG. */
static bool our_magic(const uint8_t *h, size_t n)
{
    static const uint8_t png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
                                    '\n' };
    if (n >= 4 && ((h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) &&
                    h[3] == 0) ||
                   (h[0] == 'M' && h[1] == 'M' && h[2] == 0 &&
                    (h[3] == 42 || h[3] == 43))))
        return true;
    return n >= 8 && memcmp(h, png, 8) == 0;
}

typedef struct identity {
    char host[128], boot[64];
    long pid;
    unsigned long long start;
} identity;

static bool parse_identity(const char *s, identity *w)
{
    int ver;
    return sscanf(s, "tessera %d %127s %63s %ld %llu", &ver, w->host,
                  w->boot, &w->pid, &w->start) == 5 &&
           ver == 1;
}

/* The process the identity names still runs (same boot, same start). */
static bool process_alive(const identity *w)
{
    char boot[64];
    boot_id(boot, sizeof boot);
    if (strcmp(boot, w->boot) != 0)
        return false; /* rebooted since: every process of then is gone */
    if (w->pid <= 0 || (kill((pid_t)w->pid, 0) != 0 && errno == ESRCH))
        return false;
    return start_ticks(w->pid) == w->start;
}

/* Looks at one directory entry; fills *e and decides. Returns 1 when it
 * is a dead run's temporary to remove (*fd then holds it, locked), 0 when
 * it is ours but left (e->state says why), -1 when it is not ours. */
static int judge(int dirfd, const char *name, unsigned flags, tes_temp_entry *e,
                 int *fd)
{
    *fd = -1;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode) || st.st_uid != geteuid())
        return -1;
    int f = openat(dirfd, name,
                   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (f < 0)
        return -1;
    struct stat fs;
    uint8_t head[8];
    ssize_t got = fstat(f, &fs) == 0 && fs.st_ino == st.st_ino &&
                          fs.st_dev == st.st_dev
                      ? pread(f, head, sizeof head, 0)
                      : -1;
    /* empty: made by name where a filesystem has no unnamed files, and
     * its writer killed before the magic (see create) */
    bool empty = got == 0;
    if (got < 0 || (!empty && !our_magic(head, (size_t)got))) {
        close(f);
        return -1; /* not ours by content */
    }
    e->bytes = (uint64_t)fs.st_size;
    char raw[ID_MAX];
    ssize_t k = fgetxattr(f, XATTR_NAME, raw, sizeof raw - 1);
    identity w;
    memset(&w, 0, sizeof w);
    bool known = false;
    if (k > 0) {
        raw[k] = 0;
        known = parse_identity(raw, &w);
    }
    if (empty && !known && time(NULL) - st.st_mtime < EMPTY_AGE_S) {
        /* nothing says whose it is: not taken until it is old enough that
         * no writer of ours can be between creating and marking it */
        close(f);
        return -1;
    }
    if (known) {
        snprintf(e->host, sizeof e->host, "%s", w.host);
        e->pid = w.pid;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        close(f); /* EWOULDBLOCK: held; ENOLCK: no locks here, so safe */
        e->state = TES_TEMP_LIVE;
        return 0;
    }
    char host[128];
    host_name(host, sizeof host);
    if (known && strcmp(w.host, host) != 0 && !(flags & TES_TEMP_OTHER_HOSTS)) {
        close(f);
        e->state = TES_TEMP_OTHER_HOST;
        return 0;
    }
    if (known && strcmp(w.host, host) == 0 && process_alive(&w)) {
        /* unlocked yet its writer runs: a filesystem without working
         * locks; the writer's process is the truth then */
        close(f);
        e->state = TES_TEMP_LIVE;
        return 0;
    }
    e->state = TES_TEMP_DEAD;
    *fd = f;
    return 1;
}

TES_API int tes_temp_clean(const char *dir, unsigned flags,
                           void (*visit)(const tes_temp_entry *e, void *ctx),
                           void *ctx, tes_temp_report *rep,
                           tes_raster_error *err)
{
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!dir || !*dir)
        return tes__err(err, -EINVAL, dir, "invalid argument");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return tes__err(err, -errno, dir, "%s", strerror(errno));
    DIR *d = fdopendir(dfd);
    if (!d) {
        int e = errno;
        close(dfd);
        return tes__err(err, -e, dir, "%s", strerror(e));
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!temp_name(de->d_name))
            continue;
        tes_temp_entry e;
        memset(&e, 0, sizeof e);
        e.name = de->d_name;
        int f;
        int dead = judge(dfd, de->d_name, flags, &e, &f);
        if (dead < 0)
            continue;
        if (dead == 1 && !(flags & TES_TEMP_DRY_RUN)) {
            /* Still the file we locked? (A rename since would make us
             * remove another file of that name.) */
            struct stat a, b;
            if (fstat(f, &a) == 0 &&
                fstatat(dfd, de->d_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
                unlinkat(dfd, de->d_name, 0) == 0) {
                e.removed = true;
            } else if (!rc) {
                rc = tes__err(err, -errno, dir, "cannot remove %s: %s",
                              de->d_name, strerror(errno));
            }
        }
        if (f >= 0)
            close(f);
        if (rep) {
            if (e.state == TES_TEMP_DEAD) {
                rep->dead++;
                rep->dead_bytes += e.bytes;
                if (e.removed) {
                    rep->removed++;
                    rep->removed_bytes += e.bytes;
                }
            } else if (e.state == TES_TEMP_LIVE) {
                rep->live++;
            } else {
                rep->other_host++;
            }
        }
        if (visit)
            visit(&e, ctx);
    }
    closedir(d);
    return rc;
}
