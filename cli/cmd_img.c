/*
 * cmd_img.c - `cowpoke img`: dispatch, and `img create` / `img info`.
 *
 * Syntax follows qemu-img where the meaning is the same (create's -o, -b,
 * -F; info's --output json), so commands carry over.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd_img.h"
#include "engsync.h"
#include "hostfile.h"

static const char img_usage[] =
    "usage: cowpoke img SUBCOMMAND [OPTIONS] FILE ...\n\n"
    "  create   [-f qcow2|raw] [-o OPTS] [-b BACKING [-F FMT]] FILE [SIZE]\n"
    "  info     [--output human|json] FILE\n"
    "  check    [--output human|json] FILE\n"
    "  map      [--output human|json] FILE\n"
    "  read     [-P PATTERN] [-o OUTFILE] FILE [OFFSET [LENGTH]]\n"
    "  write    [-P PATTERN | -i INFILE | -z [-u]] FILE OFFSET LENGTH\n"
    "  discard  FILE OFFSET LENGTH\n"
    "  mix      [--seed N] [--ops N] [--batch N] [--ref-in RAW] [--ref-out RAW]\n"
    "           [--mutant NAME] FILE\n\n"
    "Images are opened through cowpoke's engine; backing files resolve next\n"
    "to the image. `cowpoke img SUBCOMMAND --help` says more.\n";

const char img_create_usage[] =
    "usage: cowpoke img create [-f qcow2|raw] [-o OPTS] [-b BACKING [-F FMT]] FILE [SIZE]\n\n"
    "Create FILE, a fresh image of SIZE bytes (k/M/G/T suffixes). With -b and no\n"
    "SIZE, the backing file's size. OPTS is a comma list, as qemu-img takes it:\n"
    "  cluster_size=SIZE   512 to 2M, a power of two (default 64k)\n"
    "  compat=0.10|1.1     qcow2 version 2 or 3 (also v2, v3; default 1.1)\n"
    "  refcount_bits=16    refcount width\n"
    "-F names the backing file's format (qcow2 or raw; probed when absent).\n";

const char img_info_usage[] =
    "usage: cowpoke img info [--output human|json] FILE\n\n"
    "Open FILE through the engine and print its format fields: virtual size,\n"
    "cluster size, version, refcount width, table offsets, backing file.\n";

/* qemu-img's -o list: key=value[,key=value...]. */
static bool create_parse_opts(char *opts, eng_create_opts *o)
{
    for (char *kv = strtok(opts, ","); kv; kv = strtok(NULL, ",")) {
        char *v = strchr(kv, '=');
        if (!v) {
            cli_err("img create", "option '%s' needs a value (key=value)", kv);
            return false;
        }
        *v++ = '\0';
        uint64_t n;
        if (strcmp(kv, "cluster_size") == 0) {
            if (!cli_parse_size("img create", "cluster_size", v, &n))
                return false;
            if (n < 512 || n > (2u << 20) || (n & (n - 1))) {
                cli_err("img create", "cluster_size %s: must be a power of two "
                        "from 512 to 2M", v);
                return false;
            }
            o->cluster_bits = (unsigned)__builtin_ctzll(n);
        } else if (strcmp(kv, "compat") == 0) {
            if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
                o->version = 2;
            else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
                o->version = 3;
            else {
                cli_err("img create", "compat=%s: expected 0.10 or 1.1", v);
                return false;
            }
        } else if (strcmp(kv, "refcount_bits") == 0) {
            if (!cli_parse_u64("img create", "refcount_bits", v, &n))
                return false;
            o->refcount_bits = (unsigned)n;
        } else {
            cli_err("img create", "unknown option '%s' (cluster_size, compat, "
                    "refcount_bits)", kv);
            return false;
        }
    }
    return true;
}

/* The virtual size of an existing image: raw is its file size. */
static int create_size_of(const char *path, const char *fmt, uint64_t *size)
{
    if (fmt && strcmp(fmt, "raw") == 0) {
        host_backend *b;
        int ret = hostfile_open(path, O_RDONLY, 0, &b);
        if (ret < 0)
            return ret;
        *size = host_size(b);
        host_destroy(b);
        return 0;
    }
    cli_image img;
    int ret = cli_image_open("img create", path, false, 0, &img);
    if (ret < 0)
        return ret;
    eng_info info;
    eng_get_info(img.e, &info);
    *size = info.virtual_size;
    return cli_image_close(&img);
}

static int create_raw(const char *file, uint64_t size)
{
    host_backend *b;
    int ret = hostfile_open(file, O_RDWR | O_CREAT | O_TRUNC, 0644, &b);
    if (ret == 0) {
        ret = host_truncate(b, size);
        host_destroy(b);
    }
    if (ret < 0)
        cli_err("img create", "%s: %s", file, strerror(-ret));
    return ret < 0 ? 1 : 0;
}

static int create_qcow2(const char *file, eng_create_opts *o)
{
    cli_image img = {0};
    img.s = sched_create();
    img.set = img.s ? imgset_create(img.s, NULL) : NULL;
    int ret = img.set ? imgset_open_file(img.set, file, true, true, &img.b) : -ENOMEM;
    eng_error err = {{0}};
    if (ret == 0)
        ret = engsync_create(img.s, imgset_file(img.set, img.b), o, &err);
    if (ret < 0)
        cli_err("img create", "%s: %s", file, err.msg[0] ? err.msg : strerror(-ret));
    cli_image_close(&img);
    return ret < 0 ? 1 : 0;
}

static int img_create(int argc, char **argv)
{
    eng_create_opts o = {0};
    const char *fmt = "qcow2";
    int c;
    optind = 1;
    while ((c = getopt(argc, argv, "f:o:b:F:")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'o': if (!create_parse_opts(optarg, &o)) return CLI_USAGE; break;
        case 'b': o.backing = optarg; break;
        case 'F': o.backing_fmt = optarg; break;
        default: fputs(img_create_usage, stderr); return CLI_USAGE;
        }
    }
    if (strcmp(fmt, "qcow2") != 0 && strcmp(fmt, "raw") != 0) {
        cli_err("img create", "format '%s': expected qcow2 or raw", fmt);
        return CLI_USAGE;
    }
    if (optind >= argc || argc - optind > 2) {
        fputs(img_create_usage, stderr);
        return CLI_USAGE;
    }
    const char *file = argv[optind];
    if (optind + 1 < argc) {
        if (!cli_parse_size("img create", "size", argv[optind + 1], &o.size))
            return CLI_USAGE;
    } else if (!o.backing) {
        cli_err("img create", "a SIZE is needed when there is no backing file");
        return CLI_USAGE;
    } else if (create_size_of(o.backing, o.backing_fmt, &o.size) < 0) {
        return 1;
    }
    return strcmp(fmt, "raw") == 0 ? create_raw(file, o.size) : create_qcow2(file, &o);
}

bool img_output_json(int argc, char **argv, int *file_arg, const char *usage)
{
    bool json = false;
    *file_arg = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
            json = strcmp(argv[++i], "json") == 0;
        } else if (strncmp(argv[i], "--output=", 9) == 0) {
            json = strcmp(argv[i] + 9, "json") == 0;
        } else if (argv[i][0] == '-') {
            fputs(usage, stderr);
            *file_arg = -2;
            return false;
        } else {
            *file_arg = i;
        }
    }
    if (*file_arg < 0)
        fputs(usage, stderr);
    return json;
}

static int img_info(int argc, char **argv)
{
    int fa;
    bool json = img_output_json(argc, argv, &fa, img_info_usage);
    if (fa < 0)
        return CLI_USAGE;
    cli_image img;
    if (cli_image_open("img info", argv[fa], false, 0, &img) < 0)
        return 1;
    eng_info i;
    eng_get_info(img.e, &i);
    uint64_t disk = host_size(img.b);
    if (json) {
        printf("{\n  \"filename\": \"%s\",\n  \"format\": \"qcow2\",\n"
               "  \"virtual-size\": %llu,\n  \"actual-size\": %llu,\n"
               "  \"cluster-size\": %llu,\n  \"compat\": \"%s\",\n"
               "  \"refcount-bits\": %u,\n  \"l1-size\": %llu,\n"
               "  \"backing-filename\": \"%s\",\n  \"backing-format\": \"%s\"\n}\n",
               argv[fa], (unsigned long long)i.virtual_size,
               (unsigned long long)disk, 1ull << i.cluster_bits,
               i.version == 2 ? "0.10" : "1.1", i.refcount_bits,
               (unsigned long long)i.l1_size, i.backing, i.backing_fmt);
    } else {
        printf("image: %s\nfile format: qcow2\nvirtual size: %llu bytes\n"
               "disk size: %llu bytes\ncluster_size: %llu\ncompat: %s\n"
               "refcount bits: %u\nl1 size: %llu (at 0x%llx)\n"
               "refcount table: %llu clusters (at 0x%llx)\n",
               argv[fa], (unsigned long long)i.virtual_size,
               (unsigned long long)disk, 1ull << i.cluster_bits,
               i.version == 2 ? "0.10" : "1.1", i.refcount_bits,
               (unsigned long long)i.l1_size, (unsigned long long)i.l1_offset,
               (unsigned long long)i.refcount_table_clusters,
               (unsigned long long)i.refcount_table_offset);
        if (i.backing[0])
            printf("backing file: %s\nbacking file format: %s\n", i.backing,
                   i.backing_fmt[0] ? i.backing_fmt : "(probed)");
    }
    return cli_image_close(&img) < 0 ? 1 : 0;
}

int cmd_img(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        const char *usage;
    } subs[] = {
        {"create", img_create, img_create_usage},
        {"info", img_info, img_info_usage},
        {"check", img_check, img_check_usage},
        {"map", img_map, img_map_usage},
        {"read", img_read, img_read_usage},
        {"write", img_write, img_write_usage},
        {"discard", img_discard, img_discard_usage},
        {"mix", img_mix, img_mix_usage},
    };
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(img_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : 0;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (strcmp(argv[1], subs[i].name) == 0) {
            if (cli_wants_help(argc - 1, argv + 1)) {
                fputs(subs[i].usage, stdout);
                return 0;
            }
            return subs[i].fn(argc - 1, argv + 1);
        }
    cli_err("img", "unknown subcommand '%s'", argv[1]);
    fputs(img_usage, stderr);
    return CLI_USAGE;
}
