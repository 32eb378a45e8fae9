/*
 * cmd_img_mix.c - `cowpoke img mix`: a seeded random request mix on an
 * image file, checked against a flat reference (harness/mix.c), for the
 * interoperability tests with QEMU's tools.
 *
 * The reference lives in memory: images up to 1 GiB of virtual size.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "cli.h"
#include "cmd_img.h"
#include "mix.h"

#define MIX_MAX_SIZE (UINT64_C(1) << 30)

typedef struct mix_cli {
    mix_opts o;
    const char *ref_in, *ref_out;
    uint64_t mutants;
} mix_cli;

static int mix_parse(int argc, char **argv, mix_cli *m)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},
        {"ops", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},
        {"ref-in", required_argument, NULL, 'i'},
        {"ref-out", required_argument, NULL, 'o'},
        {"mutant", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': if (!cli_parse_u64("img mix", "seed", optarg, &m->o.seed)) return -1; break;
        case 'n': if (!cli_parse_u64("img mix", "ops", optarg, &v)) return -1; m->o.ops = (unsigned)v; break;
        case 'b':
            if (!cli_parse_u64("img mix", "batch", optarg, &v))
                return -1;
            if (v < 1 || v > 16) {
                cli_err("img mix", "--batch %s: expected 1 to 16", optarg);
                return -1;
            }
            m->o.max_batch = (unsigned)v;
            break;
        case 'i': m->ref_in = optarg; break;
        case 'o': m->ref_out = optarg; break;
        case 'm': if (!cli_add_mutant("img mix", optarg, &m->mutants)) return -1; break;
        default: return -1;
        }
    }
    return optind + 1 == argc ? optind : -1;
}

static int mix_load(const char *path, uint8_t *ref, uint64_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t n = fread(ref, 1, size, f); /* a shorter file: zeroes after it */
    (void)n;
    fclose(f);
    return 0;
}

static int mix_report(const char *file, const mix_result *r, int ret)
{
    printf("%s: %llu reads, %llu writes, %llu write-zeroes, %llu discards, "
           "%llu flushes in %llu batches\n", file, (unsigned long long)r->reads,
           (unsigned long long)r->writes, (unsigned long long)r->zeroes,
           (unsigned long long)r->discards, (unsigned long long)r->flushes,
           (unsigned long long)r->batches);
    if (ret < 0)
        cli_err("img mix", "%s: %s", file, r->msg[0] ? r->msg : strerror(-ret));
    return ret < 0 ? 1 : 0;
}

int img_mix(int argc, char **argv)
{
    mix_cli m = {.o = {.seed = 1, .ops = 200, .max_batch = 4}};
    int fa = mix_parse(argc, argv, &m);
    if (fa < 0) {
        fputs(img_mix_usage, stderr);
        return CLI_USAGE;
    }
    cli_image img;
    if (cli_image_open("img mix", argv[fa], true, m.mutants, &img) < 0)
        return 1;
    eng_info info;
    eng_get_info(img.e, &info);
    int rc = 1, ret;
    uint8_t *ref = NULL;
    if (info.virtual_size > MIX_MAX_SIZE) {
        cli_err("img mix", "%s: virtual size over 1 GiB", argv[fa]);
        goto out;
    }
    if (!(ref = calloc(1, info.virtual_size ? info.virtual_size : 1)))
        goto out;
    if (m.ref_in && (ret = mix_load(m.ref_in, ref, info.virtual_size)) < 0) {
        cli_err("img mix", "cannot read %s: %s", m.ref_in, strerror(-ret));
        goto out;
    }
    m.o.version = info.version;
    m.o.has_backing = info.backing[0] != '\0';
    sched_set_policy(img.s, SCHED_RANDOM, m.o.seed);
    mix_result r;
    ret = mix_run(img.s, img.e, ref, info.virtual_size,
                  UINT64_C(1) << info.cluster_bits, &m.o, &r);
    if (ret == 0)
        ret = mix_verify(img.s, img.e, ref, info.virtual_size, &r);
    rc = mix_report(argv[fa], &r, ret);
    if (m.ref_out && (ret = campaign_write_file(m.ref_out, ref, info.virtual_size, false)) < 0) {
        cli_err("img mix", "cannot write %s: %s", m.ref_out, strerror(-ret));
        rc = 1;
    }
out:
    free(ref);
    if (cli_image_close(&img) < 0) {
        cli_err("img mix", "%s: closing the image failed", argv[fa]);
        rc = 1;
    }
    return rc;
}
