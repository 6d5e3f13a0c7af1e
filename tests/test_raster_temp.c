/*
 * test_raster_temp.c — output temporaries (lib/temp.c): a sweep removes
 * what a killed writer left and nothing else: not a live writer's file
 * (locked), not a file of the same name pattern with other content, not a
 * file whose name is not ours, not another host's; a recorded pid reused
 * by another process does not keep a dead temporary alive, and a live
 * writer on a filesystem without locks is recognised by its process; a
 * writer killed at any moment leaves nothing the sweep does not remove.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>

#include "raster_test_util.h"
#include "suite_main.h"

static const uint8_t tiff_magic[4] = { 'I', 'I', 42, 0 };

typedef struct seen {
    int n;
    tes_temp_entry e[8];
    char names[8][256];
} seen;

static void record(const tes_temp_entry *e, void *ctx)
{
    seen *s = ctx;
    if (s->n < 8) {
        s->e[s->n] = *e;
        snprintf(s->names[s->n], sizeof s->names[0], "%s", e->name);
        s->e[s->n].name = s->names[s->n];
        s->n++;
    }
}

/* A temporary for dir/out.tif made by a child process that then dies
 * by SIGKILL, leaving it; its path in *tmp, its writer's pid returned. */
static pid_t killed_writer(const char *dir, char **tmp)
{
    char out[4200], name[4200];
    snprintf(out, sizeof out, "%s/out.tif", dir);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char *t;
        int fd;
        if (tes_temp_create(out, tiff_magic, 4, &t, &fd, NULL))
            _exit(1);
        if (pwrite(fd, "more bytes", 10, 4) != 10)
            _exit(1);
        size_t n = strlen(t) + 1;
        if (write(p[1], t, n) != (ssize_t)n)
            _exit(1);
        for (;;)
            pause(); /* killed below, the file still open and locked */
    }
    close(p[1]);
    ssize_t n = read(p[0], name, sizeof name);
    close(p[0]);
    ck_assert_int_gt(n, 0);
    kill(pid, SIGKILL);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFSIGNALED(st));
    *tmp = strdup(name);
    return pid;
}

START_TEST(temp_killed_writer_removed)
{
    char *dir = tu_tmpdir(), *tmp;
    pid_t pid = killed_writer(dir, &tmp);
    ck_assert(tu_exists(tmp));
    seen s = { 0 };
    tes_temp_report rep;
    ck_assert_int_eq(tes_temp_clean(dir, 0, record, &s, &rep, NULL), 0);
    ck_assert(!tu_exists(tmp));
    ck_assert_int_eq(rep.dead, 1);
    ck_assert_int_eq(rep.removed, 1);
    ck_assert_uint_eq(rep.removed_bytes, 14);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.e[0].state, TES_TEMP_DEAD);
    ck_assert(s.e[0].removed);
    ck_assert_str_eq(s.e[0].name, strrchr(tmp, '/') + 1);
    ck_assert_int_eq(strncmp(s.e[0].name, ".out.tif.tmp-", 13), 0);
    /* the record names the dead writer, where xattrs are kept */
    if (s.e[0].pid)
        ck_assert_int_eq(s.e[0].pid, pid);
    free(tmp);
    tu_rmdir(dir);
}
END_TEST

START_TEST(temp_live_writer_left)
{
    char *dir = tu_tmpdir(), *tmp;
    char out[4200];
    snprintf(out, sizeof out, "%s/live.tif", dir);
    int fd;
    ck_assert_int_eq(tes_temp_create(out, tiff_magic, 4, &tmp, &fd, NULL), 0);
    seen s = { 0 };
    tes_temp_report rep;
    ck_assert_int_eq(tes_temp_clean(dir, 0, record, &s, &rep, NULL), 0);
    ck_assert(tu_exists(tmp));
    ck_assert_int_eq(rep.live, 1);
    ck_assert_int_eq(rep.dead, 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert_int_eq(s.e[0].state, TES_TEMP_LIVE);
    ck_assert(!s.e[0].removed);
    /* the file is 0600 and starts with the magic */
    struct stat st;
    ck_assert_int_eq(stat(tmp, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    uint8_t head[4];
    ck_assert_int_eq(pread(fd, head, 4, 0), 4);
    ck_assert_mem_eq(head, tiff_magic, 4);
    close(fd);
    unlink(tmp);
    free(tmp);
    tu_rmdir(dir);
}
END_TEST

static void write_file(const char *dir, const char *name, const void *p,
                       size_t n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

START_TEST(temp_not_ours_left)
{
    char *dir = tu_tmpdir();
    /* our name, other content; our content, other names */
    write_file(dir, ".notes.txt.tmp-AbC123", "hello, world", 12);
    write_file(dir, ".empty.tif.tmp-AbC123", "", 0);
    write_file(dir, ".a.tif.tmp-AbC12", tiff_magic, 4);
    write_file(dir, ".a.tif.tmp-AbC12!", tiff_magic, 4);
    write_file(dir, "a.tif.tmp-AbC123", tiff_magic, 4);
    write_file(dir, "a.tif", tiff_magic, 4);
    char link_target[4200], link_path[4200];
    snprintf(link_target, sizeof link_target, "%s/a.tif", dir);
    snprintf(link_path, sizeof link_path, "%s/.link.tif.tmp-AbC123", dir);
    ck_assert_int_eq(symlink(link_target, link_path), 0);
    seen s = { 0 };
    tes_temp_report rep;
    ck_assert_int_eq(tes_temp_clean(dir, 0, record, &s, &rep, NULL), 0);
    ck_assert_int_eq(s.n, 0);
    ck_assert_int_eq(rep.dead + rep.live + rep.other_host, 0);
    ck_assert_int_eq(tu_count_files(dir), 7);
    tu_rmdir(dir);
}
END_TEST

static bool in_dir(const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return tu_exists(path);
}

/* A dead temporary (TIFF magic, no lock) whose record says id. Returns
 * false where the filesystem keeps no user xattrs. */
static bool with_record(const char *dir, const char *name, const char *id)
{
    write_file(dir, name, tiff_magic, 4);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return setxattr(path, "user.tessera.writer", id, strlen(id), 0) == 0;
}

/* Our own identity, as tes_temp_create records it. */
static bool my_record(const char *dir, char *id, size_t n)
{
    char out[4200], *tmp;
    int fd;
    snprintf(out, sizeof out, "%s/me.tif", dir);
    ck_assert_int_eq(tes_temp_create(out, tiff_magic, 4, &tmp, &fd, NULL), 0);
    ssize_t k = fgetxattr(fd, "user.tessera.writer", id, n - 1);
    unlink(tmp);
    close(fd);
    free(tmp);
    if (k <= 0)
        return false;
    id[k] = 0;
    return true;
}

START_TEST(temp_records_checked)
{
    char *dir = tu_tmpdir();
    char me[512];
    if (!my_record(dir, me, sizeof me)) {
        fprintf(stderr, "temp_records_checked: no user xattrs here; "
                        "skipped\n");
        tu_rmdir(dir);
        return;
    }
    char host[128], boot[64];
    long pid;
    unsigned long long start;
    ck_assert_int_eq(sscanf(me, "tessera 1 %127s %63s %ld %llu", host, boot,
                            &pid, &start), 4);
    ck_assert_int_eq(pid, (long)getpid());
    char id[600];
    /* our pid, reused: another start time, so the writer is gone */
    snprintf(id, sizeof id, "tessera 1 %s %s %ld %llu", host, boot, pid,
             start + 1);
    ck_assert(with_record(dir, ".reused.tif.tmp-AAAAAA", id));
    /* our very process, unlocked: a filesystem without locks; alive */
    ck_assert(with_record(dir, ".nolock.tif.tmp-BBBBBB", me));
    /* another boot: dead whatever the pid */
    snprintf(id, sizeof id, "tessera 1 %s other-boot %ld %llu", host, pid,
             start);
    ck_assert(with_record(dir, ".reboot.tif.tmp-CCCCCC", id));
    /* another host: left unless asked */
    snprintf(id, sizeof id, "tessera 1 elsewhere %s 1 1", boot);
    ck_assert(with_record(dir, ".remote.tif.tmp-DDDDDD", id));
    tes_temp_report rep;
    seen s = { 0 };
    ck_assert_int_eq(tes_temp_clean(dir, 0, record, &s, &rep, NULL), 0);
    ck_assert_int_eq(rep.removed, 2);
    ck_assert_int_eq(rep.live, 1);
    ck_assert_int_eq(rep.other_host, 1);
    ck_assert(!in_dir(dir, ".reused.tif.tmp-AAAAAA"));
    ck_assert(!in_dir(dir, ".reboot.tif.tmp-CCCCCC"));
    ck_assert(in_dir(dir, ".nolock.tif.tmp-BBBBBB"));
    ck_assert(in_dir(dir, ".remote.tif.tmp-DDDDDD"));
    for (int i = 0; i < s.n; i++)
        if (strcmp(s.e[i].name, ".remote.tif.tmp-DDDDDD") == 0) {
            ck_assert_int_eq(s.e[i].state, TES_TEMP_OTHER_HOST);
            ck_assert_str_eq(s.e[i].host, "elsewhere");
        }
    /* trusting the lock for other hosts too */
    ck_assert_int_eq(
        tes_temp_clean(dir, TES_TEMP_OTHER_HOSTS, NULL, NULL, &rep, NULL), 0);
    ck_assert_int_eq(rep.removed, 1);
    ck_assert(!in_dir(dir, ".remote.tif.tmp-DDDDDD"));
    ck_assert(in_dir(dir, ".nolock.tif.tmp-BBBBBB"));
    tu_rmdir(dir);
}
END_TEST

START_TEST(temp_dry_run_removes_nothing)
{
    char *dir = tu_tmpdir(), *tmp;
    killed_writer(dir, &tmp);
    seen s = { 0 };
    tes_temp_report rep;
    ck_assert_int_eq(
        tes_temp_clean(dir, TES_TEMP_DRY_RUN, record, &s, &rep, NULL), 0);
    ck_assert(tu_exists(tmp));
    ck_assert_int_eq(rep.dead, 1);
    ck_assert_int_eq(rep.removed, 0);
    ck_assert_int_eq(s.n, 1);
    ck_assert(!s.e[0].removed);
    free(tmp);
    tu_rmdir(dir);
}
END_TEST

/* A writer killed at any moment, the first instants of tes_temp_create
 * included, leaves nothing a sweep does not remove: the temporary is
 * linked into the folder only once it is locked and marked. */
START_TEST(temp_kill_at_any_moment_leaves_nothing)
{
    char *dir = tu_tmpdir(), out[4200];
    int probe = open(dir, O_TMPFILE | O_RDWR, 0600);
    if (probe < 0) {
        fprintf(stderr, "temp_kill_at_any_moment: %s has no unnamed files "
                        "(O_TMPFILE); skipped\n", dir);
        tu_rmdir(dir);
        return;
    }
    close(probe);
    snprintf(out, sizeof out, "%s/out.tif", dir);
    int left = 0;
    for (int round = 0; round < 200; round++) {
        int p[2];
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) { /* make temporaries until killed */
            close(p[0]);
            if (write(p[1], "x", 1) != 1)
                _exit(1);
            for (;;) {
                char *t;
                int fd;
                if (tes_temp_create(out, tiff_magic, 4, &t, &fd, NULL))
                    _exit(1);
                if (round % 2) { /* half the rounds keep every file */
                    close(fd);
                    unlink(t);
                }
                free(t);
            }
        }
        close(p[1]);
        char c;
        ck_assert_int_eq(read(p[0], &c, 1), 1);
        close(p[0]);
        usleep((useconds_t)(round * 37 % 500));
        kill(pid, SIGKILL);
        int st;
        ck_assert_int_eq(waitpid(pid, &st, 0), pid);
        ck_assert_msg(WIFSIGNALED(st), "round %d: the writer failed", round);
        left += tu_count_files(dir);
        tes_temp_report rep;
        ck_assert_int_eq(tes_temp_clean(dir, 0, NULL, NULL, &rep, NULL), 0);
        ck_assert_int_eq(rep.live + rep.other_host, 0);
        ck_assert_msg(tu_count_files(dir) == 0,
                      "round %d: %d files left after the sweep", round,
                      tu_count_files(dir));
    }
    ck_assert_msg(left > 0, "no kill left a temporary: nothing was swept");
    tu_rmdir(dir);
}
END_TEST

/* An empty file of our name, no writer recorded: left while young (a
 * writer of ours on a filesystem without unnamed files may be between
 * creating and marking it), a dead run's once ten minutes old. */
START_TEST(temp_old_empty_removed)
{
    char *dir = tu_tmpdir();
    write_file(dir, ".young.tif.tmp-AbC123", "", 0);
    write_file(dir, ".old.tif.tmp-AbC123", "", 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/.old.tif.tmp-AbC123", dir);
    struct timespec ago[2];
    clock_gettime(CLOCK_REALTIME, &ago[0]);
    ago[0].tv_sec -= 601;
    ago[1] = ago[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ago, 0), 0);
    seen s = { 0 };
    tes_temp_report rep;
    ck_assert_int_eq(tes_temp_clean(dir, 0, record, &s, &rep, NULL), 0);
    ck_assert_int_eq(rep.dead, 1);
    ck_assert_int_eq(rep.removed, 1);
    ck_assert_int_eq(s.n, 1);
    ck_assert_str_eq(s.e[0].name, ".old.tif.tmp-AbC123");
    ck_assert(!tu_exists(path));
    ck_assert(in_dir(dir, ".young.tif.tmp-AbC123"));
    tu_rmdir(dir);
}
END_TEST

START_TEST(temp_errors)
{
    tes_raster_error err;
    char *dir = tu_tmpdir();
    char missing[4200], out[4200];
    snprintf(missing, sizeof missing, "%s/none", dir);
    ck_assert_int_eq(tes_temp_clean(missing, 0, NULL, NULL, NULL, &err),
                     -ENOENT);
    ck_assert_ptr_nonnull(strstr(err.message, "none"));
    ck_assert_int_eq(tes_temp_clean(NULL, 0, NULL, NULL, NULL, &err),
                     -EINVAL);
    char *tmp;
    int fd;
    snprintf(out, sizeof out, "%s/none/x.tif", dir);
    ck_assert_int_eq(tes_temp_create(out, tiff_magic, 4, &tmp, &fd, &err),
                     -ENOENT);
    ck_assert_ptr_null(tmp);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(tes_temp_create(NULL, tiff_magic, 4, &tmp, &fd, &err),
                     -EINVAL);
    tu_rmdir(dir);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("raster_temp");
    TCase *tc = tcase_create("temp");
    tcase_add_test(tc, temp_killed_writer_removed);
    tcase_add_test(tc, temp_live_writer_left);
    tcase_add_test(tc, temp_not_ours_left);
    tcase_add_test(tc, temp_records_checked);
    tcase_add_test(tc, temp_dry_run_removes_nothing);
    tcase_add_test(tc, temp_kill_at_any_moment_leaves_nothing);
    tcase_add_test(tc, temp_old_empty_removed);
    tcase_add_test(tc, temp_errors);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(make_suite)
