/*
 * main.c — raster-tool's entry point: the command table, top-level
 * --help and --version, dispatch to the command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* One line per command; keep sorted by name. */
static const cli_command *const commands[] = {
    &cli_cmd_aspect,
    &cli_cmd_blur,
    &cli_cmd_calc,
    &cli_cmd_color_relief,
    &cli_cmd_convert,
    &cli_cmd_convolve,
    &cli_cmd_hillshade,
    &cli_cmd_info,
    &cli_cmd_overviews,
    &cli_cmd_quicklook,
    &cli_cmd_roughness,
    &cli_cmd_slope,
    &cli_cmd_stats,
    &cli_cmd_synth,
    &cli_cmd_tpi,
    &cli_cmd_tri,
};

/* The commands gdaldem has: they take its spellings too. */
static const cli_command *const gdaldem_like[] = {
    &cli_cmd_aspect, &cli_cmd_color_relief, &cli_cmd_hillshade,
    &cli_cmd_roughness, &cli_cmd_slope, &cli_cmd_tpi, &cli_cmd_tri,
};

static const cli_spelling *spellings_of(const cli_command *cmd)
{
    for (size_t i = 0; i < sizeof gdaldem_like / sizeof gdaldem_like[0]; i++)
        if (gdaldem_like[i] == cmd)
            return cli_gdaldem_spellings;
    return NULL;
}

static void top_usage(FILE *f)
{
    fprintf(f, "Usage: raster-tool COMMAND [OPTIONS] ARGS...\n"
               "       raster-tool COMMAND --help\n"
               "       raster-tool --version\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nSee raster-tool(1).\n");
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        top_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 ||
        strcmp(name, "help") == 0) {
        top_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("raster-tool (tessera) %s\n", TES_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const cli_command *cmd = commands[i];
        /* gdaldem spells TRI and TPI in capitals */
        if (strcasecmp(name, cmd->name) != 0)
            continue;
        const cli_spelling *sp = spellings_of(cmd);
        if (!sp)
            return cmd->run(argc - 1, argv + 1);
        const char *bad;
        char **av = cli_respell(argc - 1, argv + 1, sp, &bad);
        if (!av) {
            fprintf(stderr, "raster-tool: out of memory\n");
            return CLI_EXIT_FAIL;
        }
        int rc = bad ? cli_usage(cmd, "unknown option %s", bad)
                     : cmd->run(argc - 1, av);
        free(av);
        return rc;
    }
    fprintf(stderr, "raster-tool: unknown command '%s'\n", name);
    top_usage(stderr);
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    int rc = cli_dist_start(&argc, &argv);
    if (rc >= 0)
        return rc;
    return cli_dist_end(dispatch(argc, argv));
}
