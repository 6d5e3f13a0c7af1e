/*
 * fuzz_cli.c — raster-tool's option parsing, command by command: the
 * input is split into words at newlines (or NULs), the first the command,
 * and raster-tool's own entry (cli/main.c, built with main renamed) runs
 * them as its argv, in a scratch folder holding a few small rasters and
 * colour files made by raster-tool itself.
 *
 * So that a run stays in its folder and is quick:
 *   - no word can name a file outside it: a '/' that could begin a path
 *     (a word's first character, one after '=', any in a word that starts
 *     with a single '-', where getopt takes attached arguments) becomes
 *     '_', and every ".." becomes "._";
 *   - pipelines go through cli_raster_run, wrapped here (ld --wrap) to
 *     refuse rasters of more than FUZZ_CLI_PIXELS pixels, and pools
 *     through tes_pool_create, wrapped to at most 3 workers;
 *   - the folder is emptied and its files restored after every input, the
 *     working folder and the SIGINT/SIGTERM handlers that commands install
 *     are restored, and getopt's state is reset (raster-tool runs one
 *     command per process; the harness runs thousands).
 * raster-tool never calls exit(); its commands return their status.
 *
 * Promises checked: the exit status is 0, 1 or 2, and nothing is left in
 * the folder but what a successful command was asked to write.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuzz.h"

#define FUZZ_CLI_PIXELS ((int64_t)1 << 18)
#define FUZZ_CLI_THREADS 3
#define MAX_WORDS 40
#define MAX_FIXTURES 8

int cli_fuzz_main(int argc, char **argv); /* cli/main.c's main, renamed */

/* ---- the wrapped seams ------------------------------------------------ */

int __real_cli_raster_run(tes_pool *pool, const tes_kernel *k,
                          tes_raster *const *inputs, int n_in,
                          const char *out_path,
                          const tes_raster_create_options *out_opts,
                          void *result, const tes_pipeline_options *po,
                          tes_raster_error *err);
int __wrap_cli_raster_run(tes_pool *pool, const tes_kernel *k,
                          tes_raster *const *inputs, int n_in,
                          const char *out_path,
                          const tes_raster_create_options *out_opts,
                          void *result, const tes_pipeline_options *po,
                          tes_raster_error *err)
{
    int64_t w = po ? po->width : 0, h = po ? po->height : 0;
    if (n_in > 0 && inputs && inputs[0]) {
        w = tes_raster_info_get(inputs[0])->width;
        h = tes_raster_info_get(inputs[0])->height;
    }
    if (w > FUZZ_CLI_PIXELS || h > FUZZ_CLI_PIXELS ||
        w * h > FUZZ_CLI_PIXELS) {
        err->code = -EFBIG;
        snprintf(err->message, sizeof err->message,
                 "%s: %lldx%lld pixels: over the fuzz harness's cap",
                 out_path ? out_path : "run", (long long)w, (long long)h);
        return -EFBIG;
    }
    return __real_cli_raster_run(pool, k, inputs, n_in, out_path, out_opts,
                                 result, po, err);
}

int __real_tes_pool_create(tes_pool **pool, const tes_pool_options *opts);
int __wrap_tes_pool_create(tes_pool **pool, const tes_pool_options *opts)
{
    tes_pool_options o = TES_POOL_OPTIONS_INIT;
    if (opts)
        o = *opts;
    if (o.threads > FUZZ_CLI_THREADS)
        o.threads = FUZZ_CLI_THREADS;
    return __real_tes_pool_create(pool, &o);
}

/* ---- the scratch folder --------------------------------------------- */

typedef struct fixture {
    char name[32];
    uint8_t *bytes;
    size_t size;
} fixture;

static char base[64];   /* the harness's folder: base/w is the work folder */
static char work[80];
static int home = -1;   /* the folder to come back to */
static fixture fixtures[MAX_FIXTURES];
static int n_fixtures;

/* Removes everything in work (raster-tool makes no folders, but a
 * temporary file of a failed run would be a finding: see the caller). */
static int empty_work(void)
{
    DIR *d = opendir(work);
    if (!d)
        fuzz_fail("cannot open %s", work);
    int left = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 &&
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0)
            fuzz_fail("cannot remove %s/%s", work, e->d_name);
        left++;
    }
    closedir(d);
    return left;
}

static void cleanup(void)
{
    if (!base[0])
        return;
    empty_work();
    rmdir(work);
    rmdir(base);
}

static void put_fixtures(void)
{
    for (int i = 0; i < n_fixtures; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", work, fixtures[i].name);
        FILE *f = fopen(p, "wb");
        if (!f || fwrite(fixtures[i].bytes, 1, fixtures[i].size, f) !=
                      fixtures[i].size || fclose(f) != 0)
            fuzz_fail("cannot write the fixture %s", p);
    }
}

static void keep_fixture(const char *name)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", work, name);
    FILE *f = fopen(p, "rb");
    if (!f || n_fixtures == MAX_FIXTURES)
        fuzz_fail("no fixture %s", p);
    fixture *x = &fixtures[n_fixtures++];
    snprintf(x->name, sizeof x->name, "%s", name);
    fseek(f, 0, SEEK_END);
    x->size = (size_t)ftell(f);
    rewind(f);
    x->bytes = malloc(x->size ? x->size : 1);
    if (!x->bytes || fread(x->bytes, 1, x->size, f) != x->size)
        fuzz_fail("cannot read the fixture %s", p);
    fclose(f);
}

static int run_words(char **words, int n);

/* Makes the fixtures with raster-tool itself, in the work folder. */
static void make_fixtures(void)
{
    static const char *const make[][12] = {
        { "synth", "--size", "64x48", "--holes", "0.1", "--tile", "32",
          "dem.tif", NULL },
        { "convert", "--type", "uint8", "--compress", "lzw", "dem.tif",
          "u8.tif", NULL },
        { "convert", "--bands", "1,1,1", "--type", "uint16", "--compress",
          "zstd", "u8.tif", "rgb.tif", NULL },
    };
    for (size_t i = 0; i < sizeof make / sizeof make[0]; i++) {
        char *w[12];
        int n = 0;
        while (make[i][n]) {
            w[n] = (char *)make[i][n];
            n++;
        }
        if (run_words(w, n) != 0)
            fuzz_fail("cannot make the fixture %s", w[n - 1]);
    }
    FILE *f = fopen("colors.txt", "w");
    if (!f)
        fuzz_fail("cannot write colors.txt");
    fputs("# elevation R G B [A]\nnv 0 0 0 0\n0% 40 90 40\n"
          "500 160 140 90\n50% brown\n100% white 200\n", f);
    fclose(f);
    f = fopen("gmt.cpt", "w");
    if (!f)
        fuzz_fail("cannot write gmt.cpt");
    fputs("# COLOR_MODEL = RGB\n0 0 0 255 1000 0 255 0\n"
          "1000 0 255 0 3000 255 255 255\nN 128 128 128\n", f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (base[0])
        return 0;
    setenv("TESSERA_NUM_THREADS", "2", 1);
    unsetenv("TESSERA_TRACE");
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/tessera-fuzz-cli-XXXXXX",
             tmp && *tmp && strlen(tmp) < 30 ? tmp : "/tmp");
    if (!mkdtemp(base))
        fuzz_fail("cannot make a scratch folder %s", base);
    snprintf(work, sizeof work, "%s/w", base);
    if (mkdir(work, 0700) != 0)
        fuzz_fail("cannot make %s", work);
    atexit(cleanup);
    home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* commands print to stdout; nobody reads it here */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (home < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
        fuzz_fail("cannot set up the descriptors");
    close(null);
    if (chdir(work) != 0)
        fuzz_fail("cannot enter %s", work);
    make_fixtures();
    if (fchdir(home) != 0)
        fuzz_fail("cannot come back from %s", work);
    const char *names[] = { "dem.tif", "u8.tif", "rgb.tif", "colors.txt",
                            "gmt.cpt" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        keep_fixture(names[i]);
    empty_work();
    return 0;
}

/* One command, in the current folder. */
static int run_words(char **words, int n)
{
    char *argv[MAX_WORDS + 2];
    argv[0] = "raster-tool";
    for (int i = 0; i < n; i++)
        argv[i + 1] = words[i];
    argv[n + 1] = NULL;
    /* getopt keeps a pointer into the last argv when a command returned
     * in the middle of a cluster of short options; optind = 0 starts it
     * afresh (commands then set optind = 1, which alone would not) */
    char *dummy[] = { "raster-tool", NULL };
    optind = 0;
    getopt(1, dummy, "");
    struct sigaction old_int, old_term;
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    int rc = cli_fuzz_main(n + 1, argv);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    fflush(stdout);
    return rc;
}

/* Makes a word safe to hand over (see the top of the file). */
static void tame(char *w)
{
    bool dash = w[0] == '-' && w[1] != '-';
    for (char *p = w; *p; p++) {
        if (*p == '/' && (p == w || dash || p[-1] == '='))
            *p = '_';
        if (p[0] == '.' && p[1] == '.')
            p[1] = '_';
    }
}

/* Whether name is one of the library's temporaries (".OUT.tmp-XXXXXX"
 * of the writer and of overviews, ".tessera-spill-XXXXXX") rather than a
 * file the command line named, such as a --trace file, which a failed run
 * may still write (the first run that found a "leftover" named its trace
 * "x.tmp...json"). */
static bool is_temporary(const char *name, char **words, int n)
{
    if (name[0] != '.' || (!strstr(name, ".tmp-") &&
                           strncmp(name, ".tessera-spill-", 15) != 0))
        return false;
    size_t len = strlen(name);
    for (int i = 0; i < n; i++) {
        size_t wl = strlen(words[i]);
        if (wl >= len && strcmp(words[i] + wl - len, name) == 0)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LLVMFuzzerInitialize(NULL, NULL);
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    char *words[MAX_WORDS];
    int n = 0;
    for (size_t i = 0, start = 0; i <= size && n < MAX_WORDS; i++)
        if (i == size || buf[i] == '\n' || buf[i] == 0) {
            buf[i] = 0;
            if (i > start || (i < size && n > 0))
                words[n++] = buf + start;
            start = i + 1;
        }
    for (int i = 0; i < n; i++)
        tame(words[i]);
    put_fixtures();
    if (chdir(work) != 0)
        fuzz_fail("cannot enter %s", work);
    int rc = run_words(words, n);
    if (fchdir(home) != 0)
        fuzz_fail("cannot come back from %s", work);
    if (rc != CLI_EXIT_OK && rc != CLI_EXIT_FAIL && rc != CLI_EXIT_USAGE)
        fuzz_fail("exit status %d", rc);
    /* a failed command leaves nothing behind: no temporary file */
    if (rc != CLI_EXIT_OK) {
        DIR *d = opendir(work);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (is_temporary(e->d_name, words, n))
                fuzz_fail("a failed command left %s", e->d_name);
        if (d)
            closedir(d);
    }
    empty_work();
    free(buf);
    return 0;
}
