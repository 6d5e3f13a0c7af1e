/*
 * test_cli_fault.c — faults from outside, against every raster-tool command
 * that reads or writes a raster: SIGINT and SIGTERM at random moments,
 * SIGKILL at random moments followed by another run (which must remove
 * what the killed one left, saying so in one line), a full disk at every
 * stage of the output (RLIMIT_FSIZE: mounting a small tmpfs needs
 * privileges CI does not have), and the input truncated or deleted while
 * a run reads it. The invariant each time: the run either finishes, its
 * output byte for byte that of an undisturbed run, or it exits non-zero
 * (or is killed) having printed one line, with no file at the output path
 * and no temporary left (after SIGKILL: none once the next run is done).
 * The moments come from a seeded generator; a failure prints the seed
 * (TES_FAULT_SEED=N replays it).
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cli_test_util.h"
#include "suite_main.h"

/* Under a sanitizer raster-tool runs several times slower: fewer rounds
 * and limits, a smaller input, so that CI's three builds stay quick. */
#ifdef TU_SANITIZED
#define SIDE "512"
#define ROUNDS 1
#else
#define SIDE "768"
#define ROUNDS 2
#endif

/* One command: its arguments (IN: the input, OUT: run/OUT's name), the
 * output file in run/ ("" when it writes nothing), and for overviews
 * (which rewrites its input in place) the file it changes. */
typedef struct command {
    const char *name;
    const char *args;
    const char *out;
    bool in_place;
} command;

static const command commands[] = {
    { "convert", "convert --quiet --compress deflate in.tif run/out.tif",
      "out.tif", false },
    { "convert-cog", "convert --quiet --cog in.tif run/out.tif", "out.tif",
      false },
    { "slope", "slope --quiet in.tif run/out.tif", "out.tif", false },
    { "aspect", "aspect --quiet in.tif run/out.tif", "out.tif", false },
    { "hillshade", "hillshade --quiet in.tif run/out.tif", "out.tif", false },
    { "tri", "tri --quiet in.tif run/out.tif", "out.tif", false },
    { "tpi", "tpi --quiet in.tif run/out.tif", "out.tif", false },
    { "roughness", "roughness --quiet in.tif run/out.tif", "out.tif", false },
    { "blur", "blur --quiet --sigma 3 in.tif run/out.tif", "out.tif", false },
    { "convolve", "convolve --quiet --normalize --kernel 1,2,1;2,4,2;1,2,1 in.tif "
                  "run/out.tif", "out.tif", false },
    { "calc", "calc --quiet -A in.tif --expr A*2+1 run/out.tif", "out.tif",
      false },
    { "color-relief", "color-relief --quiet in.tif colors.txt run/out.tif",
      "out.tif", false },
    { "quicklook", "quicklook --quiet in.tif run/out.png", "out.png", false },
    { "synth", "synth --quiet --size " SIDE "x" SIDE " run/out.tif", "out.tif",
      false },
    { "overviews", "overviews --quiet run/ov.tif", "ov.tif", true },
    { "stats", "stats --quiet --histogram 64 in.tif", "", false },
    { "info", "info in.tif", "", false },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static uint64_t seed, seed0; /* the generator's state; its start */
static double ref_time[N_COMMANDS];

static uint64_t next_rand(void)
{
    seed += 0x9E3779B97F4A7C15ull;
    uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts raster-tool with args (split on spaces) in dir, its stdout to
 * /dev/null and its stderr into a pipe (a file would be cut by the file
 * size limit), read by finish(); fsize >= 0: RLIMIT_FSIZE. */
static int err_pipe = -1;

static pid_t spawn(const char *args, long long fsize)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", args);
    char *argv[32];
    int n = 0;
    argv[n++] = tool;
    for (char *s = strtok(buf, " "); s && n < 31; s = strtok(NULL, " "))
        argv[n++] = s;
    argv[n] = NULL;
    int p[2], ex[2];
    ck_assert_int_eq(pipe(p), 0);
    /* ex closes at the exec: a signal sent after it reaches raster-tool,
     * not a copy of this test */
    ck_assert_int_eq(pipe2(ex, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int o = open("/dev/null", O_WRONLY);
        if (chdir(dir) != 0 || o < 0)
            _exit(127);
        dup2(p[1], 2);
        dup2(o, 1);
        close(p[0]);
        if (fsize >= 0) {
            struct rlimit rl = { (rlim_t)fsize, (rlim_t)fsize };
            setrlimit(RLIMIT_FSIZE, &rl);
            signal(SIGXFSZ, SIG_IGN); /* writes fail with EFBIG instead */
        }
        execv(tool, argv);
        _exit(127);
    }
    close(p[1]);
    close(ex[1]);
    char c;
    while (read(ex[0], &c, 1) > 0)
        ;
    close(ex[0]);
    err_pipe = p[0];
    return pid;
}

/* Waits for pid; its stderr in err_txt. Returns its wait status. */
static int finish(pid_t pid)
{
    size_t n = 0;
    ssize_t k;
    while ((k = read(err_pipe, err_txt + n, sizeof err_txt - 1 - n)) > 0)
        n += (size_t)k;
    err_txt[n] = 0;
    close(err_pipe);
    err_pipe = -1;
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    return st;
}

/* Temporaries in dir/run. */
static int temporaries(void)
{
    return tu_count_temporaries(P("run"));
}

static int lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

static void make_inputs(void)
{
    synth("in.tif", atoi(SIDE), atoi(SIDE), 7, 0.02);
    FILE *f = fopen(P("colors.txt"), "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "0 0 0 255\n1000 0 255 0\n2500 255 255 255\nnv 0 0 0\n");
    fclose(f);
    ck_assert_int_eq(mkdir(P("run"), 0755), 0);
}

static const char *run_path(const char *name)
{
    static char b[4200];
    snprintf(b, sizeof b, "%s/run/%s", dir, name);
    return b;
}

static void reset_run(const command *c)
{
    if (c->out[0])
        unlink(run_path(c->out));
    if (c->in_place)
        ck_assert_int_eq(tu_sh("cp '%s' '%s'", P("in.tif"), run_path(c->out)),
                         0);
}

static void save_ref(const command *c)
{
    if (c->out[0])
        ck_assert_int_eq(tu_sh("cp '%s' '%s/ref-%s'", run_path(c->out), dir,
                               c->name), 0);
}

/* The output is what an undisturbed run wrote. */
static bool output_is_ref(const command *c)
{
    char ref[4300];
    snprintf(ref, sizeof ref, "%s/ref-%s", dir, c->name);
    return tu_files_equal(ref, run_path(c->out));
}

/* The output path holds nothing new: no file, or (in place) the input
 * as it was. */
static bool output_untouched(const command *c)
{
    if (!c->out[0])
        return true;
    if (c->in_place)
        return tu_files_equal(P("in.tif"), run_path(c->out));
    return !tu_exists(run_path(c->out));
}

/* Undisturbed runs: the reference outputs and how long each takes. */
static void reference_runs(void)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const command *c = &commands[i];
        reset_run(c);
        double t0 = now_s();
        int st = finish(spawn(c->args, -1));
        ref_time[i] = now_s() - t0;
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s",
                      c->name, err_txt);
        save_ref(c);
    }
}

static void fault_teardown(void)
{
    /* run/ first: teardown removes files and one folder */
    tu_sh("rm -rf '%s/run'", dir);
    teardown();
}

static void fault_setup(void)
{
    setup();
    const char *s = getenv("TES_FAULT_SEED");
    seed = seed0 = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    fprintf(stderr, "test_cli_fault: TES_FAULT_SEED=%llu\n",
            (unsigned long long)seed0);
    make_inputs();
    reference_runs();
}

/* The cases share run/ (an unchecked fixture): each starts with no
 * temporary in it, so that one case's failure is not reported again by
 * the cases after it. */
static void no_temporaries(void)
{
    tu_sh("rm -f '%s/run/'.*.tmp-*", dir);
}

/* Sleeps a random part of (a little more than) command i's usual time. */
static void random_moment(size_t i)
{
    double t = ref_time[i] * 1.1 * (double)(next_rand() % 1000) / 1000.0;
    struct timespec ts = { (time_t)t, (long)((t - (double)(time_t)t) * 1e9) };
    nanosleep(&ts, NULL);
}

START_TEST(fault_sigint_sigterm)
{
    no_temporaries();
    static const int sigs[] = { SIGINT, SIGTERM };
    for (int round = 0; round < ROUNDS; round++)
        for (size_t i = 0; i < N_COMMANDS; i++) {
            const command *c = &commands[i];
            int sig = sigs[(round + i) % 2];
            reset_run(c);
            pid_t pid = spawn(c->args, -1);
            random_moment(i);
            kill(pid, sig);
            int st = finish(pid);
            const char *what = strsignal(sig);
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
                ck_assert_msg(!c->out[0] || output_is_ref(c),
                              "%s, %s: finished, output differs (seed "
                              "%llu)", c->name, what,
                              (unsigned long long)seed0);
            } else {
                ck_assert_msg(WIFSIGNALED(st) || WEXITSTATUS(st) == 1,
                              "%s, %s: status %d", c->name, what, st);
                ck_assert_msg(WIFSIGNALED(st) || lines(err_txt) == 1,
                              "%s, %s: not one line: %s", c->name, what,
                              err_txt);
                ck_assert_msg(output_untouched(c),
                              "%s, %s: output changed (seed %llu)", c->name,
                              what, (unsigned long long)seed0);
            }
            ck_assert_msg(temporaries() == 0,
                          "%s, %s: a temporary left (seed %llu)", c->name,
                          what, (unsigned long long)seed0);
        }
}
END_TEST

START_TEST(fault_sigkill_then_next_run)
{
    no_temporaries();
    int left = 0;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const command *c = &commands[i];
        reset_run(c);
        pid_t pid = spawn(c->args, -1);
        random_moment(i);
        kill(pid, SIGKILL);
        int st = finish(pid);
        bool finished = WIFEXITED(st) && WEXITSTATUS(st) == 0;
        /* killed: the output is either complete or not there at all */
        if (c->out[0] && !output_untouched(c))
            ck_assert_msg(output_is_ref(c), "%s: killed, output partial "
                          "(seed %llu)", c->name, (unsigned long long)seed0);
        int tmps = temporaries();
        ck_assert_int_le(tmps, 1);
        left += tmps;
        (void)finished;
        /* the next run removes the dead run's temporary, in one line */
        reset_run(c);
        st = finish(spawn(c->args, -1));
        ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: rerun: %s",
                      c->name, err_txt);
        if (c->out[0]) {
            ck_assert_msg(output_is_ref(c), "%s: rerun differs", c->name);
            ck_assert_int_eq(temporaries(), 0);
            if (tmps)
                ck_assert_msg(lines(err_txt) == 1 &&
                                  strstr(err_txt, "removed 1 temporary file "
                                                  "left by killed runs"),
                              "%s: %s", c->name, err_txt);
            else
                ck_assert_str_eq(err_txt, "");
        } else if (tmps) { /* no output folder: clean does it */
            ck_assert_int_eq(rt("clean --quiet run"), 0);
            ck_assert_int_eq(temporaries(), 0);
        }
    }
    /* a temporary a killed run leaves is recognised, whatever the moment:
     * kill one mid-write on purpose */
    const command *c = &commands[0];
    reset_run(c);
    pid_t pid = spawn(c->args, -1);
    for (int k = 0; k < 2000 && temporaries() == 0; k++)
        usleep(1000);
    kill(pid, SIGKILL);
    finish(pid);
    if (temporaries() == 1) {
        ck_assert_int_eq(rt("clean -n run"), 0);
        ck_assert_msg(strstr(out_txt, "would remove .out.tif.tmp-"),
                      "killed mid-write: clean -n said \"%s\"", out_txt);
        ck_assert_int_eq(temporaries(), 1);
        ck_assert_int_eq(rt("clean run"), 0);
        ck_assert_ptr_nonnull(strstr(out_txt, "removed .out.tif.tmp-"));
        ck_assert_int_eq(temporaries(), 0);
        left++;
    }
    ck_assert_msg(left > 0, "no kill left a temporary: the sweep went "
                            "untested (seed %llu)", (unsigned long long)seed0);
}
END_TEST

START_TEST(fault_disk_full)
{
    no_temporaries();
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const command *c = &commands[i];
        if (!c->out[0])
            continue;
        struct stat st;
        char ref[4300];
        snprintf(ref, sizeof ref, "%s/ref-%s", dir, c->name);
        ck_assert_int_eq(stat(ref, &st), 0);
        long long size = (long long)st.st_size, in = 0;
        if (c->in_place) { /* a copy of the input, then its levels */
            ck_assert_int_eq(stat(P("in.tif"), &st), 0);
            in = (long long)st.st_size;
        }
        /* the magic, the header, the first tiles, midway, all but the end
         * (a plain output's directory, a COG's last tiles); in place: the
         * copy cut short, then the levels */
        long long limits[] = { 6, 4096, in ? in / 2 : 65536,
                               in + (size - in) / 2, size - 1 };
        for (size_t l = 0; l < sizeof limits / sizeof limits[0]; l++) {
            long long lim = limits[l];
#ifdef TU_SANITIZED
            if (l == 1 || l == 2)
                continue; /* the magic, midway and the end suffice */
#endif
            if (lim >= size || (l && lim <= limits[l - 1]))
                continue;
            reset_run(c);
            int s = finish(spawn(c->args, lim));
            ck_assert_msg(WIFEXITED(s) && WEXITSTATUS(s) == 1,
                          "%s, file size limit %lld: status %d: %s", c->name,
                          lim, s, err_txt);
            ck_assert_msg(lines(err_txt) == 1, "%s, limit %lld: %s", c->name,
                          lim, err_txt);
            ck_assert_msg(output_untouched(c), "%s, limit %lld: output",
                          c->name, lim);
            ck_assert_msg(temporaries() == 0, "%s, limit %lld: temporary",
                          c->name, lim);
        }
    }
}
END_TEST

/* Truncates or deletes in.tif's copy while slope reads it. */
/* Bytes of the temporary in dir/run, or -1 when there is none. */
static long long temp_bytes(void)
{
    DIR *d = opendir(P("run"));
    ck_assert_ptr_nonnull(d);
    long long n = -1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) {
            struct stat st;
            char path[4400];
            snprintf(path, sizeof path, "%s/run/%s", dir, e->d_name);
            if (stat(path, &st) == 0)
                n = (long long)st.st_size;
        }
    closedir(d);
    return n;
}

START_TEST(fault_input_changes_underfoot)
{
    no_temporaries();
    /* uncompressed, so that a truncation cuts blocks the run has not read */
    ck_assert_int_eq(rt("synth --quiet --compress none --size 1536x1536 "
                        "big.tif"), 0);
    /* the output uncompressed too (9 MB): its temporary's size tells how
     * far the run has gone, sanitizer or not */
    const char *args = "slope --quiet -j 1 --compress none src.tif "
                       "run/out.tif";
    unlink(run_path("out.tif"));
    ck_assert_int_eq(tu_sh("cp '%s' '%s'", P("big.tif"), P("src.tif")), 0);
    ck_assert_int_eq(WEXITSTATUS(finish(spawn(args, -1))), 0);
    ck_assert_int_eq(tu_sh("cp '%s' '%s/ref-slope.tif'", run_path("out.tif"),
                           dir), 0);
    struct stat st;
    ck_assert_int_eq(stat(P("big.tif"), &st), 0);
    int failed = 0;
    for (int round = 0; round < 8; round++) {
        bool del = round % 2;
        unlink(run_path("out.tif"));
        ck_assert_int_eq(tu_sh("cp '%s' '%s'", P("big.tif"), P("src.tif")),
                         0);
        pid_t pid = spawn(args, -1);
        /* a moment when 1 to 6 MB of the output are written */
        long long at = ((long long)1 << 20) * (1 + (long long)(next_rand() % 6));
        for (int k = 0; k < 60000 && temp_bytes() < at &&
                        !tu_exists(run_path("out.tif"));
             k++)
            usleep(1000);
        if (del)
            unlink(P("src.tif"));
        else
            ck_assert_int_eq(truncate(P("src.tif"), st.st_size / 3), 0);
        int s = finish(pid);
        if (WIFEXITED(s) && WEXITSTATUS(s) == 0) {
            char ref[4300];
            snprintf(ref, sizeof ref, "%s/ref-slope.tif", dir);
            ck_assert_msg(tu_files_equal(ref, run_path("out.tif")),
                          "%s: finished with other bytes (seed %llu)",
                          del ? "deleted" : "truncated",
                          (unsigned long long)seed0);
        } else {
            failed++;
            ck_assert_msg(WIFEXITED(s) && WEXITSTATUS(s) == 1 &&
                              lines(err_txt) == 1,
                          "%s: status %d: %s", del ? "deleted" : "truncated",
                          s, err_txt);
            ck_assert(!tu_exists(run_path("out.tif")));
        }
        ck_assert_int_eq(temporaries(), 0);
    }
    ck_assert_msg(failed > 0, "no truncation caught a run (seed %llu)",
                  (unsigned long long)seed0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("cli_fault");
    TCase *tc = tcase_create("fault");
    tcase_add_unchecked_fixture(tc, fault_setup, fault_teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fault_sigint_sigterm);
    tcase_add_test(tc, fault_sigkill_then_next_run);
    tcase_add_test(tc, fault_disk_full);
    tcase_add_test(tc, fault_input_changes_underfoot);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(make_suite)
