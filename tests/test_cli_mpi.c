/*
 * test_cli_mpi.c — the MPI build of raster-tool ($TES_MPI_BUILD/raster-tool)
 * under mpirun, against the plain one ($TES_BUILD/raster-tool): every
 * pipeline command at 1 to 4 ranks writes the plain build's bytes and
 * stats prints its text; a rank that finds its tiles corrupt fails the
 * job with one line naming it; a rank killed mid-run ends the job; a
 * launcher from another MPI is refused; started without mpirun it is the
 * plain tool; a rank with nothing to do sleeps; rank 0 draws the one
 * progress bar; rank 0's memory stays near the single machine's. Skipped
 * (passing, with a note) when TES_MPI_BUILD is unset or mpirun is
 * missing. $TES_MPIRUN replaces "mpirun" (with its options) where a
 * machine needs other settings.
 */
#include <check.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "cli_test_util.h"
#include "raster_test_util.h"
#include "suite_main.h"

static char mtool[4096];       /* the MPI build's raster-tool */
static char launcher[512];     /* mpirun and the options every run takes */

/* Whether the MPI tests can run here; fills mtool and launcher. */
static bool mpi_ready(void)
{
    const char *b = getenv("TES_MPI_BUILD");
    if (!b || !*b || system("command -v mpirun >/dev/null 2>&1") != 0)
        return false;
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        return false;
    snprintf(mtool, sizeof mtool, "%s%s%s/raster-tool", b[0] == '/' ? "" : cwd,
             b[0] == '/' ? "" : "/", b);
    const char *l = getenv("TES_MPIRUN");
    /* -q: no banner of mpirun's own when a rank exits non-zero; pml ob1:
     * no probing for UCX devices, half the start-up on a machine without
     * them (the transport Open MPI ends up with there anyway) */
    snprintf(launcher, sizeof launcher, "%s%s",
             l && *l ? l : "mpirun -q --oversubscribe --mca pml ob1",
             l && *l ? "" : geteuid() == 0 ? " --allow-run-as-root" : "");
    return access(mtool, X_OK) == 0;
}

#define NEED_MPI()                                                           \
    do {                                                                     \
        if (!mpi_ready()) {                                                  \
            fprintf(stderr, "%s: skipped (no MPI build or no mpirun)\n",     \
                    __func__);                                               \
            return;                                                          \
        }                                                                    \
    } while (0)

/* Runs "mpirun -np N [ENV...] raster-tool-mpi ARGS" in dir, as rt() does. */
static int mr(int np, const char *env, const char *fmt, ...) TES_PRINTF(3, 4);
static int mr(int np, const char *env, const char *fmt, ...)
{
    char args[4096], cmd[12288];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -np %d %s '%s' %s >stdout.txt 2>stderr.txt", dir,
             launcher, np, env ? env : "", mtool, args);
    return run_captured(cmd);
}

/* Whether dir holds a temporary output (".NAME.tmp-XXXXXX"). */
static bool has_temp(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    bool found = false;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            found = true;
    closedir(d);
    return found;
}

/* Every pipeline command, on the DEM dem.tif (and hs.tif for calc). */
static const char *const jobs[] = {
    "slope --compute-edges dem.tif OUT",
    "slope --tile 16 dem.tif OUT", /* several column strips a rank */
    "aspect dem.tif OUT",
    "hillshade --multidirectional dem.tif OUT",
    "convolve --kernel '1 2 1; 0 0 0; -1 -2 -1' dem.tif OUT",
    "blur --sigma 2 --tile 128 dem.tif OUT",
    "convert --type int16 --compress zstd dem.tif OUT",
    "calc -A dem.tif -B hs.tif --expr 'A * 0.5 + B' --compress lzw OUT",
    "synth --size 1100x700 --seed 7 --tile 128 --holes 0.05 OUT",
    "convert --tile 64 --compress none dem.tif OUT",
};

START_TEST(cli_mpi_every_command_writes_the_plain_bytes)
{
    NEED_MPI();
    ck_assert_int_eq(rt("synth --quiet --size 1100x700 --seed 3 --holes 0.02 "
                        "dem.tif"), 0);
    ck_assert_int_eq(rt("hillshade --quiet dem.tif hs.tif"), 0);
    /* Runs of several tiles, of one tile (rank after rank), and tiles sent
     * in 4 KiB pieces. */
    static const char *const envs[] = {
        "", "-x TESSERA_MPI_RUN_BYTES=1",
        "-x TESSERA_MPI_PIECE_BYTES=4096 -x TESSERA_MPI_RUN_BYTES=300K",
    };
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        char job[700], ref[600];
        snprintf(ref, sizeof ref, "%s", jobs[i]);
        *strstr(ref, "OUT") = 0;
        snprintf(job, sizeof job, "%s--quiet ref.tif", ref);
        ck_assert_msg(rt("%s", job) == 0, "%s: %s", job, err_txt);
        for (int np = 1; np <= 4; np++) {
            const char *env = envs[(i + (size_t)np) % 3];
            int threads = np % 2 + 1;
            ck_assert_msg(mr(np, env, "%s -j %d --quiet mpi.tif", ref,
                             threads) == 0,
                          "%s at %d ranks: %s", jobs[i], np, err_txt);
            /* Open MPI binds one or two ranks to a core each: then rank 0
             * warns, once, that a rank runs more threads than that. */
            if (err_txt[0] || (np == 1 && sysconf(_SC_NPROCESSORS_ONLN) > 1))
                ck_assert_msg(strncmp(err_txt, "raster-tool: warning: the "
                                               "launcher bound rank 0 to 1 "
                                               "CPU but it runs 2 threads",
                                      67) == 0 &&
                                  !strchr(err_txt, '\n')[1],
                              "%s", err_txt);
            ck_assert_msg(tu_files_equal(P("ref.tif"), P("mpi.tif")),
                          "%s at %d ranks (%s): bytes differ", jobs[i], np,
                          env);
            unlink(P("mpi.tif"));
        }
        unlink(P("ref.tif"));
        ck_assert(!has_temp());
    }
}
END_TEST

START_TEST(cli_mpi_stats_prints_the_plain_text)
{
    NEED_MPI();
    ck_assert_int_eq(rt("synth --quiet --size 900x1000 --seed 5 --holes 0.1 "
                        "dem.tif"), 0);
    static const char *const forms[] = {
        "stats --json dem.tif",
        "stats --json --histogram 10 dem.tif", /* two passes */
        "stats --histogram 5 --range 0 3000 dem.tif",
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        ck_assert_int_eq(rt("%s", forms[i]), 0);
        char want[sizeof out_txt];
        memcpy(want, out_txt, sizeof want);
        ck_assert(strlen(want) > 40);
        for (int np = 1; np <= 4; np++) {
            ck_assert_msg(mr(np, np == 3 ? "-x TESSERA_MPI_RUN_BYTES=1" : "",
                             "%s -j %d", forms[i], np) == 0,
                          "%s: %s", forms[i], err_txt);
            ck_assert_msg(strcmp(out_txt, want) == 0,
                          "%s at %d ranks:\n%s\nnot\n%s", forms[i], np,
                          out_txt, want);
        }
    }
}
END_TEST

/* Overwrites the middle of tile `tile` of path with junk. */
static void corrupt_tile(const char *path, uint32_t tile)
{
    tu_quiet_libtiff();
    TIFF *t = TIFFOpen(path, "r");
    ck_assert_ptr_nonnull(t);
    uint64_t *off = NULL, *len = NULL;
    ck_assert(TIFFGetField(t, TIFFTAG_TILEOFFSETS, &off));
    ck_assert(TIFFGetField(t, TIFFTAG_TILEBYTECOUNTS, &len));
    uint64_t at = off[tile] + 8; /* early, so that the stream breaks */
    ck_assert(len[tile] > 80);
    TIFFClose(t);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseeko(f, (off_t)at, SEEK_SET), 0);
    static const unsigned char junk[64] = { 0xff, 0xff, 0xff, 0xff, 0x13,
                                            0x37, 0xff, 0x00 };
    ck_assert_int_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
}

START_TEST(cli_mpi_failing_rank_fails_the_job_with_its_line)
{
    NEED_MPI();
    /* 4 x 4 tiles of 256, the middle of tile 14 junk */
    ck_assert_int_eq(rt("synth --quiet --size 1024x1024 bad.tif"), 0);
    corrupt_tile(P("bad.tif"), 14);
    ck_assert_int_eq(rt("convert --quiet bad.tif out.tif"), 1);
    char plain[1024];
    snprintf(plain, sizeof plain, "%.1000s", err_txt);
    ck_assert_msg(strncmp(plain, "raster-tool: bad.tif: tile 14: ", 31) == 0,
                  "%s", plain);
    for (int np = 2; np <= 4; np++) {
        ck_assert_int_eq(mr(np, "", "convert --quiet bad.tif out.tif"), 1);
        /* Rank 0's one line: the plain line, naming the rank whose run
         * holds tile 14 (runs: an even share of the 16 tiles, cut to
         * whole rows of 4, dealt in turn; rank 0 computes too). */
        int run = (16 + np - 1) / np;
        run -= run % 4;
        char want[1200];
        snprintf(want, sizeof want, "raster-tool: rank %d: %s",
                 14 / run % np, plain + 13);
        ck_assert_str_eq(err_txt, want);
        ck_assert(!tu_exists(P("out.tif")));
        ck_assert(!has_temp());
    }
    /* Failures every rank meets alike, before or as the run starts: rank
     * 0 prints the plain tool's line, once. */
    ck_assert_int_eq(rt("synth --quiet --size 300x300 ok.tif"), 0);
    ck_assert_int_eq(mr(3, "", "convert --quiet bad.tif ok.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: ok.tif: already exists (use --overwrite)\n");
    ck_assert_int_eq(rt("calc --quiet -A ok.tif --expr 'A[3]' x.tif"), 1);
    snprintf(plain, sizeof plain, "%.1000s", err_txt);
    ck_assert_int_eq(mr(3, "", "calc --quiet -A ok.tif --expr 'A[3]' x.tif"),
                     1);
    ck_assert_str_eq(err_txt, plain);
    ck_assert_int_eq(mr(2, "", "hillshade --quiet missing.tif x.tif"), 1);
    ck_assert_str_eq(err_txt,
                     "raster-tool: missing.tif: No such file or directory\n");
    ck_assert_int_eq(mr(2, "", "hillshade --no-such dem.tif x.tif"), 2);
    /* A full disk at rank 0 (a file size limit, as the writes see it)
     * while the others send their tiles. */
    ck_assert_int_eq(rt("synth --quiet --size 1100x700 dem.tif"), 0);
    char cmd[12288];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -np 3 sh -c 'if [ $OMPI_COMM_WORLD_RANK = 0 ]; "
             "then trap \"\" XFSZ; ulimit -f 64; fi; exec \"%s\" hillshade "
             "--quiet --compress none dem.tif x.tif' >stdout.txt 2>stderr.txt",
             dir, launcher, mtool);
    ck_assert_int_eq(run_captured(cmd), 1);
    ck_assert_msg(strncmp(err_txt, "raster-tool: rank 0: x.tif: write failed: "
                                   "File too large\n", 200) == 0,
                  "%s", err_txt);
    /* Ranks that do not run the same job (here: other run lengths) are
     * refused before any tile is written. */
    ck_assert_int_eq(mr(1, "-x TESSERA_MPI_RUN_BYTES=1",
                        "convert --quiet ok.tif x.tif : -np 1 '%s' convert "
                        "--quiet ok.tif x.tif", mtool), 1);
    ck_assert_str_eq(err_txt, "raster-tool: rank 1: its job differs from "
                              "rank 0's (tiles per run 2, not 1): do all "
                              "ranks see the same files and options?\n");
    ck_assert(!tu_exists(P("x.tif")));
    ck_assert(!has_temp());
}
END_TEST

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long read_pid(const char *name)
{
    char buf[64] = "";
    tu_read_text(P(name), buf, sizeof buf);
    return strtol(buf, NULL, 10);
}

START_TEST(cli_mpi_killed_rank_ends_the_job)
{
    NEED_MPI();
    ck_assert_int_eq(rt("synth --quiet --size 2048x2048 dem.tif"), 0);
    /* Each rank's shell writes its pid, then becomes raster-tool; zstd at
     * its top level makes the run last a while. When a rank dies, Open
     * MPI's mpirun waits odls_base_sigkill_timeout (1 s), sends the others
     * SIGTERM, waits as long again, then sends SIGKILL: rank 0 removes its
     * temporary file on the SIGTERM. 3 s instead of 1 leave it time on a
     * CI machine shared by many builds. */
    char cmd[12288];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec %s --mca odls_base_sigkill_timeout 3 -np 3 "
             "sh -c "
             "'echo $$ > pid.$OMPI_COMM_WORLD_RANK; exec \"%s\" hillshade "
             "--quiet -j 1 --compress zstd --level 22 --tile 64 dem.tif "
             "out.tif' >stdout.txt 2>stderr.txt",
             dir, launcher, mtool);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* Wait until the output is under way, then kill rank 1. */
    double t0 = now();
    while ((!tu_exists(P("pid.1")) || !has_temp()) && now() - t0 < 20) {
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(has_temp(), "the run never started");
    long victim = read_pid("pid.1");
    ck_assert_int_gt(victim, 1);
    ck_assert_int_eq(kill((pid_t)victim, SIGKILL), 0);
    double t1 = now();
    int st = 0;
    pid_t w;
    while ((w = waitpid(child, &st, WNOHANG)) == 0 && now() - t1 < 30) {
        struct timespec ts = { 0, 20000000 };
        nanosleep(&ts, NULL);
    }
    if (w == 0)
        kill(child, SIGKILL), waitpid(child, &st, 0);
    ck_assert_msg(w == child, "the job did not end");
    ck_assert_msg(now() - t1 < 10, "the job took %.1f s to end", now() - t1);
    ck_assert(!WIFEXITED(st) || WEXITSTATUS(st) != 0);
    ck_assert(!tu_exists(P("out.tif")));
    ck_assert(!has_temp());
}
END_TEST

START_TEST(cli_mpi_mismatched_launcher_is_refused)
{
    NEED_MPI();
    ck_assert_int_eq(rt("synth --quiet --size 300x200 dem.tif"), 0);
    /* What a launcher of another MPI leaves: N copies, each alone. */
    static const char *const cases[][2] = {
        { "PMI_SIZE=3 PMI_RANK=0", "(PMI_SIZE=3)" },
        { "OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0",
          "(OMPI_COMM_WORLD_SIZE=2)" },
        { "SLURM_STEP_NUM_TASKS=4 SLURM_PROCID=0", "(SLURM_STEP_NUM_TASKS=4)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && env %s '%s' hillshade --quiet dem.tif out.tif "
                 "2>stderr.txt",
                 dir, cases[i][0], mtool);
        int st = system(cmd);
        tu_read_text(P("stderr.txt"), err_txt, sizeof err_txt);
        unlink(P("stderr.txt"));
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
        static const char want[] = "raster-tool: MPI: the launcher started ";
        ck_assert_msg(strncmp(err_txt, want, sizeof want - 1) == 0 &&
                          strstr(err_txt, cases[i][1]) &&
                          strstr(err_txt, "rank 0 of 1"),
                      "%s", err_txt);
        ck_assert(!tu_exists(P("out.tif")));
    }
    /* the copies the launcher numbered 1.. say nothing */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && PMI_SIZE=3 PMI_RANK=2 '%s' hillshade --quiet dem.tif "
             "out.tif 2>stderr.txt", dir, mtool);
    int st = system(cmd);
    tu_read_text(P("stderr.txt"), err_txt, sizeof err_txt);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    ck_assert_str_eq(err_txt, "");
    ck_assert(!tu_exists(P("out.tif")));
}
END_TEST

START_TEST(cli_mpi_without_mpirun_is_the_plain_tool)
{
    NEED_MPI();
    static const char *const runs[] = {
        "synth --quiet --size 500x300 dem.tif",
        "stats --json --histogram 3 dem.tif",
        "stats missing.tif",
        "slope --quiet dem.tif s.tif",
        "slope dem.tif s.tif",
        "slope --bogus dem.tif s.tif",
        "info dem.tif",
        "--version",
    };
    char plain_out[8][2048], plain_err[8][1024];
    int plain_rc[8];
    for (int pass = 0; pass < 2; pass++) {
        char saved[sizeof tool];
        memcpy(saved, tool, sizeof tool);
        if (pass)
            memcpy(tool, mtool, sizeof tool);
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
            int rc = rt("%s", runs[i]);
            if (!pass) {
                plain_rc[i] = rc;
                snprintf(plain_out[i], sizeof plain_out[i], "%.2000s", out_txt);
                snprintf(plain_err[i], sizeof plain_err[i], "%.1000s", err_txt);
            } else {
                ck_assert_int_eq(rc, plain_rc[i]);
                ck_assert_str_eq(out_txt, plain_out[i]);
                ck_assert_str_eq(err_txt, plain_err[i]);
            }
        }
        if (!pass) {
            ck_assert_int_eq(rename(P("s.tif"), P("plain.tif")), 0);
            unlink(P("dem.tif"));
        }
        memcpy(tool, saved, sizeof tool);
    }
    ck_assert(tu_files_equal(P("s.tif"), P("plain.tif")));
}
END_TEST

/* CPU (user + system) and elapsed seconds from the last line of a file
 * /usr/bin/time -f '%U %S %e' wrote. */
static void cpu_wall(const char *name, double *cpu, double *wall)
{
    char buf[512] = "";
    tu_read_text(P(name), buf, sizeof buf);
    double u, s, e;
    bool found = false;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (sscanf(line, "%lf %lf %lf", &u, &s, &e) == 3) {
            *cpu = u + s;
            *wall = e;
            found = true;
        }
    ck_assert_msg(found, "no timing in %s", name);
}

START_TEST(cli_mpi_idle_rank_sleeps)
{
    NEED_MPI();
    if (access("/usr/bin/time", X_OK) != 0) {
        fprintf(stderr, "%s: skipped (no /usr/bin/time)\n", __func__);
        return;
    }
    /* 5 tiles of 2048 x 1024 at 4 ranks, runs of 2: ranks 0, 1, 2 make
     * them, rank 3 has none and waits all along for rank 0's verdict. */
    char cmd[12288];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -np 4 sh -c 'exec /usr/bin/time -f \"%%U %%S %%e\" "
             "-o time.$OMPI_COMM_WORLD_RANK \"%s\" synth --quiet -j 1 "
             "--size 10240x1024 --tile 2048x1024 out.tif' >/dev/null 2>&1",
             dir, launcher, mtool);
    ck_assert_int_eq(system(cmd), 0);
    double cpu3, wall3, cpu0, wall0;
    cpu_wall("time.3", &cpu3, &wall3);
    cpu_wall("time.0", &cpu0, &wall0);
    fprintf(stderr, "%s: the idle rank: %.2f s of CPU in %.2f s; rank 0: "
                    "%.2f s in %.2f s\n", __func__, cpu3, wall3, cpu0, wall0);
    ck_assert_msg(wall3 > 0.5, "too short to tell (%.2f s)", wall3);
    ck_assert_msg(cpu0 > 0.3, "rank 0 did no work (%.2f s)", cpu0);
    /* A spinning wait would burn about as much CPU as the run lasts. */
    ck_assert_msg(cpu3 < 0.25 * wall3,
                  "the idle rank used %.2f s of CPU in %.2f s", cpu3, wall3);
}
END_TEST

START_TEST(cli_mpi_rank0_memory_stays_near_one_machine)
{
    NEED_MPI();
    if (access("/usr/bin/time", X_OK) != 0) {
        fprintf(stderr, "%s: skipped (no /usr/bin/time)\n", __func__);
        return;
    }
    ck_assert_int_eq(rt("synth --quiet --size 16384x16384 --octaves 3 "
                        "dem.tif"), 0);
    char cmd[12288];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && /usr/bin/time -f %%M -o rss.plain '%s' hillshade "
             "--quiet -j 2 dem.tif plain.tif", dir, tool);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s -np 4 sh -c 'if [ $OMPI_COMM_WORLD_RANK = 0 ]; "
             "then exec /usr/bin/time -f %%M -o rss.0 \"%s\" hillshade --quiet "
             "-j 2 dem.tif mpi.tif; else exec \"%s\" hillshade --quiet -j 2 "
             "dem.tif mpi.tif; fi' >/dev/null 2>&1", dir, launcher, mtool,
             mtool);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert(tu_files_equal(P("plain.tif"), P("mpi.tif")));
    char a[64] = "", b[64] = "";
    tu_read_text(P("rss.plain"), a, sizeof a);
    tu_read_text(P("rss.0"), b, sizeof b);
    long plain = strtol(a, NULL, 10), rank0 = strtol(b, NULL, 10);
    fprintf(stderr, "%s: peak RSS plain %ld KiB, rank 0 of 4 %ld KiB\n",
            __func__, plain, rank0);
    ck_assert(plain > 0 && rank0 > 0);
    ck_assert_msg(rank0 <= plain * 3 / 2, "rank 0: %ld KiB, plain %ld KiB",
                  rank0, plain);
}
END_TEST

START_TEST(cli_mpi_rank0_draws_the_progress_bar)
{
    NEED_MPI();
    if (system("command -v script >/dev/null 2>&1") != 0) {
        fprintf(stderr, "%s: skipped (no script(1))\n", __func__);
        return;
    }
    ck_assert_int_eq(rt("synth --quiet --size 1100x700 dem.tif"), 0);
    /* mpirun on a terminal (script's), the ranks on its pipes */
    char cmd[12288];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && script -qec \"%s -np 3 '%s' hillshade dem.tif "
             "h.tif\" /dev/null >stdout.txt 2>stderr.txt",
             dir, launcher, mtool);
    ck_assert_int_eq(run_captured(cmd), 0);
    ck_assert(tu_exists(P("h.tif")));
    /* one bar, from 0 to 100% */
    const char *full = strstr(out_txt, "100% [");
    ck_assert_msg(full && !strstr(full + 1, "100% [") &&
                      strstr(out_txt, "[#"),
                  "%s", out_txt);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_mpi");
    TCase *tc = tcase_create("mpi");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, cli_mpi_every_command_writes_the_plain_bytes);
    tcase_add_test(tc, cli_mpi_stats_prints_the_plain_text);
    tcase_add_test(tc, cli_mpi_failing_rank_fails_the_job_with_its_line);
    tcase_add_test(tc, cli_mpi_killed_rank_ends_the_job);
    tcase_add_test(tc, cli_mpi_mismatched_launcher_is_refused);
    tcase_add_test(tc, cli_mpi_without_mpirun_is_the_plain_tool);
    tcase_add_test(tc, cli_mpi_idle_rank_sleeps);
    tcase_add_test(tc, cli_mpi_rank0_draws_the_progress_bar);
    tcase_add_test(tc, cli_mpi_rank0_memory_stays_near_one_machine);
    suite_add_tcase(s, tc);
    return s;
}

TES_CHECK_MAIN(suite)
