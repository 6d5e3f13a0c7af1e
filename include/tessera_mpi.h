/*
 * tessera_mpi.h — the tile pipeline across the ranks of an MPI job
 * (libtessera_mpi, built with `make MPI=1`). See tessera_mpi(3).
 *
 * Every rank calls tes_mpi_raster_run with the same arguments, as it would
 * call tes_raster_run on one machine. The output tile grid is cut into
 * contiguous runs of tiles dealt to the ranks in turn (strips of every
 * row for a focal kernel over tiled inputs, else runs in row-major order);
 * each rank computes its own on its own tessera pool, reading its inputs
 * (and the halos a focal kernel needs) from files every rank sees. Rank 0
 * also writes: it receives the others' compressed tiles and appends every
 * tile in the order a run on one machine does, through the same atomic
 * writer, and folds reduction partials in tile order. So the output's
 * bytes and a reduction's result are those of tes_raster_run, at any rank
 * count and thread count. Rank 0 hands out credits so that only a bounded
 * number of tiles travel at once: its memory does not grow with the
 * raster or the rank count.
 *
 * Errors travel to rank 0 as text: when any rank fails, every rank's run
 * fails, rank 0's err names the rank ("rank 2: dem.tif: tile 37: ..."),
 * and the output is not created. A job ends with tes_mpi_finish, which
 * agrees on one exit status for every rank.
 *
 * Threads: MPI is used only from the thread that calls these functions,
 * which must be the thread that initialized MPI (MPI_THREAD_FUNNELED is
 * enough). No rank spins while it waits on another: waits poll with short
 * sleeps.
 */
#ifndef TESSERA_MPI_H
#define TESSERA_MPI_H

#include <mpi.h>

#include "tessera_raster.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tes_mpi tes_mpi; /* opaque: one job over one communicator */

/* Start from TES_MPI_OPTIONS_INIT. */
typedef struct tes_mpi_options {
    /* Polled while a rank waits on others (every quarter millisecond, on
     * the calling thread): nonzero stops the wait and fails the run with
     * -ECANCELED, as a pipeline's progress callback does. NULL: never. */
    int (*cancelled)(void *ctx);
    /* Rank 0 only, at most once per job: a warning worth a person's eyes
     * (e.g. ranks bound to fewer CPUs than their threads), one line with
     * no newline. NULL: dropped. */
    void (*warn)(const char *line, void *ctx);
    void *ctx;
    /* Bytes of uncompressed output tiles in one row-major run of tiles a
     * rank computes in a row, and the most it may hold while rank 0
     * writes other ranks' tiles (0: TESSERA_MPI_RUN_BYTES from the
     * environment, else 32 MiB). Longer runs re-read fewer halos; every
     * rank must use the same. */
    size_t run_bytes;
} tes_mpi_options;

#define TES_MPI_OPTIONS_INIT { NULL, NULL, NULL, 0 }

/*
 * Initializes MPI (MPI_Init_thread asking for MPI_THREAD_FUNNELED) unless
 * it is already initialized, and creates the job over MPI_COMM_WORLD (see
 * tes_mpi_create). A process that MPI sees as the only rank while the
 * launcher's environment (OMPI_COMM_WORLD_SIZE, PMI_SIZE,
 * MV2_COMM_WORLD_SIZE, SLURM_STEP_NUM_TASKS) says it started several —
 * a launcher from another MPI than the one this library was built with —
 * is refused with -EPROTO, so that N copies never race on one output; err
 * says so on the copy the launcher numbered 0 and is empty on the others.
 * Returns 0 and sets *m, or a negative code with err.
 */
TES_API int tes_mpi_init(int *argc, char ***argv, tes_mpi **m,
                         const tes_mpi_options *opts, tes_raster_error *err);

/* A job over comm (duplicated; MPI initialized with at least
 * MPI_THREAD_FUNNELED, called on the thread that initialized it). Every
 * rank of comm must take part in the same runs, in the same order.
 * Returns 0 and sets *m, or -EINVAL / -ENOMEM with err. */
TES_API int tes_mpi_create(tes_mpi **m, MPI_Comm comm,
                           const tes_mpi_options *opts,
                           tes_raster_error *err);

/* This process's rank and the job's rank count. */
TES_API int tes_mpi_rank(const tes_mpi *m);
TES_API int tes_mpi_size(const tes_mpi *m);

/*
 * tes_raster_run across the job's ranks: every rank calls it with the same
 * kernel, inputs (the same files), output path and options; pool is this
 * rank's own (its thread count may differ from rank to rank). Rank 0
 * writes out_path; the others create nothing. On success every rank gets
 * the combined reduction in result. opts->progress runs on rank 0 after
 * each tile is written (done counts tiles of the whole job) and on the
 * others after each of their own tiles; opts->dist must be NULL. A
 * failure on any rank fails the run on every rank: rank 0's err then says
 * "rank R: " and that rank's message. Returns 0 or a negative code.
 */
TES_API int tes_mpi_raster_run(tes_mpi *m, tes_pool *pool,
                               const tes_kernel *k,
                               tes_raster *const *inputs, int n_in,
                               const char *out_path,
                               const tes_raster_create_options *out_opts,
                               void *result, const tes_pipeline_options *opts,
                               tes_raster_error *err);

/*
 * Ends the job's work: every rank calls it once, with its own exit status
 * (0 success) and, when that is not 0, why (one line, no "raster-tool: "
 * prefix needed; may be NULL) unless a run already carried that failure to
 * rank 0. Returns the status this rank should exit with: its own when
 * nonzero, else 1 when any rank failed, else 0. On rank 0, err is filled
 * (err->code nonzero) when another rank failed outside a run and nobody
 * has said so yet: "rank R: why". Waits for every rank (polling with
 * sleeps); cancelled waits return 1 at once.
 */
TES_API int tes_mpi_finish(tes_mpi *m, int status, const char *why,
                           tes_raster_error *err);

/* Frees m (NULL is fine), and finalizes MPI when tes_mpi_init initialized
 * it. After tes_mpi_finish, or on a path that never ran a job. */
TES_API void tes_mpi_destroy(tes_mpi *m);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_MPI_H */
