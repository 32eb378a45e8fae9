/*
 * cmd_img_io.c - `cowpoke img read|write|discard|mix`: guest I/O on an
 * image file from the shell, through the engine.
 *
 * Large ranges are processed in 1 MiB chunks so memory stays bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_img.h"
#include "engsync.h"
#include "hostfile.h"
#include "mix.h"

#define IO_CHUNK (1u << 20)

const char img_read_usage[] =
    "usage: cowpoke img read [-P PATTERN] [-o OUTFILE] FILE [OFFSET [LENGTH]]\n\n"
    "Read guest bytes (default: the whole disk from OFFSET). -P checks every\n"
    "byte equals PATTERN (exit 1 and the first bad offset if not); -o writes\n"
    "the bytes to OUTFILE (a raw export); with neither, a hex dump.\n";

const char img_write_usage[] =
    "usage: cowpoke img write [-P PATTERN | -i INFILE | -z [-u]] FILE OFFSET LENGTH\n\n"
    "Write LENGTH guest bytes at OFFSET: the byte PATTERN (default 0xcd, as\n"
    "qemu-io), the first LENGTH bytes of INFILE, or zeroes (-z; -u may unmap).\n";

const char img_discard_usage[] =
    "usage: cowpoke img discard FILE OFFSET LENGTH\n\n"
    "Discard a guest range: clusters it covers whole read back as zeroes\n"
    "(qcow2 v3); partly covered clusters keep their data.\n";

const char img_mix_usage[] =
    "usage: cowpoke img mix [--seed N] [--ops N] [--batch N] [--ref-in RAW]\n"
    "                       [--ref-out RAW] [--mutant NAME] FILE\n\n"
    "Run a seeded random mix of N requests (default 200; up to --batch in\n"
    "flight at once, default 4, interleaved by a scheduler seeded with N) on\n"
    "FILE, checking every read against a flat reference. The reference starts\n"
    "as RAW (--ref-in, the guest content before: e.g. `qemu-img convert -O raw`\n"
    "of the backing file) or zeroes, and is written to --ref-out at the end so\n"
    "`qemu-img compare` can judge the image. Exit 0 when all matched.\n";

static int io_range(const char *cmd, int argc, char **argv, int at,
                    uint64_t vsize, uint64_t *off, uint64_t *len, bool need)
{
    *off = 0;
    *len = vsize;
    if (need && argc - at < 2) {
        cli_err(cmd, "expected OFFSET and LENGTH after the file");
        return -1;
    }
    if (at < argc && !cli_parse_size(cmd, "offset", argv[at], off))
        return -1;
    *len = *off <= vsize ? vsize - *off : 0;
    if (at + 1 < argc && !cli_parse_size(cmd, "length", argv[at + 1], len))
        return -1;
    if (at + 2 < argc) {
        cli_err(cmd, "unexpected argument '%s'", argv[at + 2]);
        return -1;
    }
    if (*off > vsize || *len > vsize - *off) {
        cli_err(cmd, "range 0x%llx+0x%llx is past the virtual size 0x%llx",
                (unsigned long long)*off, (unsigned long long)*len,
                (unsigned long long)vsize);
        return -1;
    }
    return 0;
}

static bool io_parse_pattern(const char *cmd, const char *s, int *pat)
{
    uint64_t v;
    if (!cli_parse_u64(cmd, "pattern", s, &v) || v > 255) {
        if (v > 255)
            cli_err(cmd, "pattern %s: must be a byte (0 to 255)", s);
        return false;
    }
    *pat = (int)v;
    return true;
}

static void io_hexdump(const uint8_t *buf, uint64_t off, uint64_t len,
                       bool *star)
{
    for (uint64_t i = 0; i < len; i += 16) {
        uint64_t n = len - i < 16 ? len - i : 16;
        if (i >= 16 && n == 16 && memcmp(buf + i, buf + i - 16, 16) == 0) {
            if (!*star)
                printf("*\n");
            *star = true;
            continue;
        }
        *star = false;
        printf("%08llx:", (unsigned long long)(off + i));
        for (uint64_t j = 0; j < n; j++)
            printf(" %02x", buf[i + j]);
        printf("\n");
    }
}

/* Check, export or dump one chunk; returns false on a pattern mismatch. */
static bool io_read_chunk(const uint8_t *buf, uint64_t off, uint64_t n,
                          int pat, FILE *out, bool *star)
{
    if (pat >= 0) {
        for (uint64_t i = 0; i < n; i++) {
            if (buf[i] != pat) {
                printf("Pattern verification failed at offset %llu: "
                       "0x%02x != 0x%02x\n", (unsigned long long)(off + i),
                       buf[i], pat);
                return false;
            }
        }
    } else if (out) {
        fwrite(buf, 1, n, out);
    } else {
        io_hexdump(buf, off, n, star);
    }
    return true;
}

int img_read(int argc, char **argv)
{
    int pat = -1, c;
    const char *outfile = NULL;
    optind = 1;
    while ((c = getopt(argc, argv, "+P:o:")) != -1) {
        if (c == 'P' && io_parse_pattern("img read", optarg, &pat))
            continue;
        if (c == 'o') {
            outfile = optarg;
            continue;
        }
        return CLI_USAGE;
    }
    if (optind >= argc) {
        fputs(img_read_usage, stderr);
        return CLI_USAGE;
    }
    cli_image img;
    if (cli_image_open("img read", argv[optind], false, 0, &img) < 0)
        return 1;
    eng_info info;
    eng_get_info(img.e, &info);
    uint64_t off = 0, len = 0;
    int rc = 0;
    FILE *out = NULL;
    uint8_t *buf = malloc(IO_CHUNK);
    if (!buf || io_range("img read", argc, argv, optind + 1, info.virtual_size,
                         &off, &len, false) < 0) {
        rc = CLI_USAGE;
        goto done;
    }
    if (outfile && !(out = fopen(outfile, "wb"))) {
        cli_err("img read", "cannot write %s: %s", outfile, strerror(errno));
        rc = 1;
        goto done;
    }
    bool star = false;
    for (uint64_t pos = 0; pos < len && rc == 0; pos += IO_CHUNK) {
        uint64_t n = len - pos < IO_CHUNK ? len - pos : IO_CHUNK;
        int ret = engsync_read(img.s, img.e, off + pos, buf, n);
        if (ret < 0) {
            cli_err("img read", "read at 0x%llx failed: %s",
                    (unsigned long long)(off + pos), strerror(-ret));
            rc = 1;
        } else if (!io_read_chunk(buf, off + pos, n, pat, out, &star)) {
            rc = 1;
        }
    }
    if (rc == 0 && (pat >= 0 || out))
        printf("read %llu/%llu bytes at offset %llu\n", (unsigned long long)len,
               (unsigned long long)len, (unsigned long long)off);
done:
    if (out && fclose(out) != 0 && rc == 0)
        rc = 1;
    free(buf);
    cli_image_close(&img);
    return rc;
}

typedef struct io_write_args {
    int pat;
    FILE *in;
    bool zero, unmap;
} io_write_args;

static int io_write_chunk(cli_image *img, const io_write_args *a, uint8_t *buf,
                          uint64_t off, uint64_t n)
{
    if (a->zero)
        return engsync_write_zeroes(img->s, img->e, off, n,
                                    a->unmap ? ENG_ZERO_MAY_UNMAP : 0);
    if (a->in) {
        if (fread(buf, 1, n, a->in) != n)
            return -EIO;
    } else {
        memset(buf, a->pat, n);
    }
    return engsync_write(img->s, img->e, off, buf, n);
}

static int io_write_parse(int argc, char **argv, io_write_args *a)
{
    int c;
    const char *infile = NULL;
    optind = 1;
    while ((c = getopt(argc, argv, "+P:i:zu")) != -1) {
        if (c == 'P' && io_parse_pattern("img write", optarg, &a->pat))
            continue;
        if (c == 'i')
            infile = optarg;
        else if (c == 'z')
            a->zero = true;
        else if (c == 'u')
            a->unmap = true;
        else
            return -1;
    }
    if (a->unmap && !a->zero) {
        cli_err("img write", "-u (unmap) is only valid with -z");
        return -1;
    }
    if ((a->zero || infile) && a->pat != 0xcd) {
        cli_err("img write", "-P cannot be combined with -z or -i");
        return -1;
    }
    if (infile && !(a->in = fopen(infile, "rb"))) {
        cli_err("img write", "cannot read %s: %s", infile, strerror(errno));
        return -1;
    }
    return 0;
}

int img_write(int argc, char **argv)
{
    io_write_args a = {.pat = 0xcd};
    if (io_write_parse(argc, argv, &a) < 0 || optind >= argc) {
        if (optind >= argc)
            fputs(img_write_usage, stderr);
        if (a.in)
            fclose(a.in);
        return CLI_USAGE;
    }
    cli_image img;
    int rc = 0;
    if (cli_image_open("img write", argv[optind], true, 0, &img) < 0) {
        rc = 1;
        goto out;
    }
    eng_info info;
    eng_get_info(img.e, &info);
    uint64_t off = 0, len = 0;
    uint8_t *buf = malloc(IO_CHUNK);
    if (!buf || io_range("img write", argc, argv, optind + 1, info.virtual_size,
                         &off, &len, true) < 0)
        rc = CLI_USAGE;
    for (uint64_t pos = 0; pos < len && rc == 0; pos += IO_CHUNK) {
        uint64_t n = len - pos < IO_CHUNK ? len - pos : IO_CHUNK;
        int ret = io_write_chunk(&img, &a, buf, off + pos, n);
        if (ret < 0) {
            cli_err("img write", "write at 0x%llx failed: %s",
                    (unsigned long long)(off + pos), strerror(-ret));
            rc = 1;
        }
    }
    free(buf);
    if (cli_image_close(&img) < 0 && rc == 0) {
        cli_err("img write", "closing the image failed");
        rc = 1;
    }
    if (rc == 0)
        printf("wrote %llu/%llu bytes at offset %llu\n", (unsigned long long)len,
               (unsigned long long)len, (unsigned long long)off);
out:
    if (a.in)
        fclose(a.in);
    return rc;
}

int img_discard(int argc, char **argv)
{
    if (argc != 4) {
        fputs(img_discard_usage, stderr);
        return CLI_USAGE;
    }
    cli_image img;
    if (cli_image_open("img discard", argv[1], true, 0, &img) < 0)
        return 1;
    eng_info info;
    eng_get_info(img.e, &info);
    uint64_t off = 0, len = 0;
    int rc = 0;
    if (io_range("img discard", argc, argv, 2, info.virtual_size, &off, &len,
                 true) < 0) {
        rc = CLI_USAGE;
    } else {
        int ret = engsync_discard(img.s, img.e, off, len);
        if (ret < 0) {
            cli_err("img discard", "discard failed: %s", strerror(-ret));
            rc = 1;
        }
    }
    if (cli_image_close(&img) < 0 && rc == 0)
        rc = 1;
    if (rc == 0)
        printf("discard %llu/%llu bytes at offset %llu\n",
               (unsigned long long)len, (unsigned long long)len,
               (unsigned long long)off);
    return rc;
}
