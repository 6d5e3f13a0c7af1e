/*
 * dist.c — raster-tool across MPI ranks. Built with `make MPI=1`
 * (TES_WITH_MPI): every rank runs the same command; pipelines go through
 * tes_mpi_raster_run, rank 0 alone speaks to the user, the others keep
 * their stderr for the line that says why they failed. In the plain build
 * these are thin pass-throughs. MPI itself is libtessera_mpi's business.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef TES_WITH_MPI
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "tessera_mpi.h"

static tes_mpi *job;    /* the job this process is a rank of */
static int kept_err = -1; /* ranks other than 0: where stderr goes */

static int job_cancelled(void *ctx)
{
    (void)ctx;
    return cli_interrupted();
}

static void job_warn(const char *line, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "raster-tool: %s\n", line);
}

int cli_dist_start(int *argc, char ***argv)
{
    tes_mpi_options o = TES_MPI_OPTIONS_INIT;
    o.cancelled = job_cancelled;
    o.warn = job_warn;
    tes_raster_error err = { 0, "" };
    if (tes_mpi_init(argc, argv, &job, &o, &err)) {
        if (err.message[0])
            fprintf(stderr, "raster-tool: %s\n", err.message);
        return CLI_EXIT_FAIL;
    }
    if (tes_mpi_rank(job) == 0)
        return -1;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    kept_err = memfd_create("raster-tool-stderr", MFD_CLOEXEC);
    if (kept_err >= 0)
        dup2(kept_err, STDERR_FILENO);
    return -1;
}

/* The last line this rank wrote to stderr, without "raster-tool: ". */
static void last_line(char *out, size_t cap)
{
    out[0] = 0;
    struct stat st;
    if (kept_err < 0 || fstat(kept_err, &st) != 0 || st.st_size <= 0)
        return;
    size_t n = (size_t)st.st_size < 4096 ? (size_t)st.st_size : 4096;
    char buf[4097];
    ssize_t got = pread(kept_err, buf, n, st.st_size - (off_t)n);
    if (got <= 0)
        return;
    buf[got] = 0;
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r'))
        buf[--got] = 0;
    char *line = strrchr(buf, '\n');
    line = line ? line + 1 : buf;
    if (strncmp(line, "raster-tool: ", 13) == 0)
        line += 13;
    size_t len = strlen(line) < cap - 1 ? strlen(line) : cap - 1;
    memcpy(out, line, len);
    out[len] = 0;
}

int cli_dist_end(int status)
{
    if (!job)
        return status;
    char why[512];
    fflush(stderr);
    last_line(why, sizeof why);
    tes_raster_error err = { 0, "" };
    int rc = tes_mpi_finish(job, status, why, &err);
    if (err.code)
        fprintf(stderr, "raster-tool: %s\n", err.message);
    tes_mpi_destroy(job);
    job = NULL;
    return rc;
}

int cli_raster_run(tes_pool *pool, const tes_kernel *k,
                   tes_raster *const *in, int n_in, const char *out_path,
                   const tes_raster_create_options *oo, void *result,
                   const tes_pipeline_options *po, tes_raster_error *err)
{
    return tes_mpi_raster_run(job, pool, k, in, n_in, out_path, oo, result,
                              po, err);
}

/* Whether the launcher (our parent, which forwards our stderr through a
 * pipe) writes to a terminal. */
static bool launcher_terminal(void)
{
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%ld/fd/2", (long)getppid());
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return false;
    target[n] = 0;
    return strncmp(target, "/dev/pts/", 9) == 0 ||
           strncmp(target, "/dev/tty", 8) == 0;
}

int cli_dist_ranks(void)
{
    return job ? tes_mpi_size(job) : 1;
}
bool cli_dist_leader(void) { return !job || tes_mpi_rank(job) == 0; }

bool cli_dist_terminal(void)
{
    if (job && tes_mpi_rank(job) != 0)
        return false;
    if (isatty(STDERR_FILENO))
        return true;
    /* Started by a launcher that pipes our stderr to its own. */
    struct stat st;
    bool launched = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") ||
                    getenv("PMIX_RANK");
    return job && launched && fstat(STDERR_FILENO, &st) == 0 &&
           S_ISFIFO(st.st_mode) && launcher_terminal();
}

#else /* the plain build */

int cli_dist_start(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return -1;
}

int cli_dist_end(int status) { return status; }

int cli_raster_run(tes_pool *pool, const tes_kernel *k,
                   tes_raster *const *in, int n_in, const char *out_path,
                   const tes_raster_create_options *oo, void *result,
                   const tes_pipeline_options *po, tes_raster_error *err)
{
    return tes_raster_run(pool, k, in, n_in, out_path, oo, result, po, err);
}

bool cli_dist_terminal(void) { return isatty(STDERR_FILENO) != 0; }

int cli_dist_ranks(void) { return 1; }
bool cli_dist_leader(void) { return true; }

#endif
