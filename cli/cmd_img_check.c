/*
 * cmd_img_check.c - `cowpoke img check` (the independent metadata checker,
 * with qemu-img check's exit codes) and `cowpoke img map`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "checker.h"
#include "cli.h"
#include "cmd_img.h"
#include "engsync.h"
#include "hostfile.h"

const char img_check_usage[] =
    "usage: cowpoke img check [--output human|json] FILE\n\n"
    "Check FILE's qcow2 metadata with cowpoke's independent checker, which\n"
    "reads the bytes without the engine. Exit codes are qemu-img check's:\n"
    "  0 no errors, 2 corruptions, 3 leaked clusters only,\n"
    "  1 the check could not be completed (unreadable or unsupported image).\n";

const char img_map_usage[] =
    "usage: cowpoke img map [--output human|json] FILE\n\n"
    "Print how FILE's guest ranges map: data (with host offset), zero (zero\n"
    "flag), or unallocated (reads from the backing file, or zeroes).\n";

static void check_print_json(const char *file, const chk_report *r)
{
    printf("{\n  \"filename\": \"%s\",\n  \"format\": \"qcow2\",\n"
           "  \"corruptions\": %llu,\n  \"leaks\": %llu,\n"
           "  \"check-errors\": %d,\n  \"image-end-offset\": %llu,\n"
           "  \"findings\": [", file, (unsigned long long)r->corruptions,
           (unsigned long long)r->leaks, r->incomplete ? 1 : 0,
           (unsigned long long)r->image_end);
    for (size_t i = 0; i < r->n_findings; i++) {
        const chk_finding *f = &r->findings[i];
        printf("%s\n    {\"kind\": \"%s\", \"corruption\": %s, \"offset\": %llu, "
               "\"message\": \"", i ? "," : "", chk_kind_name(f->kind),
               f->corruption ? "true" : "false", (unsigned long long)f->offset);
        for (const char *c = f->msg; *c; c++)
            printf(*c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        printf("\"}");
    }
    printf("\n  ]\n}\n");
}

int img_check(int argc, char **argv)
{
    int fa;
    bool json = img_output_json(argc, argv, &fa, img_check_usage);
    if (fa < 0)
        return CLI_USAGE;
    host_backend *b;
    int ret = hostfile_open(argv[fa], O_RDONLY, 0, &b);
    if (ret < 0) {
        cli_err("img check", "cannot open %s: %s", argv[fa], strerror(-ret));
        return 1;
    }
    chk_report r;
    ret = chk_image(b, &r);
    host_destroy(b);
    if (ret < 0) {
        cli_err("img check", "%s: %s", argv[fa], strerror(-ret));
        return 1;
    }
    if (json) {
        check_print_json(argv[fa], &r);
    } else {
        char text[8192];
        chk_format(&r, text, sizeof(text));
        fputs(text, stdout);
    }
    if (r.incomplete)
        return 1;
    if (r.corruptions)
        return 2;
    return r.leaks ? 3 : 0;
}

static const char *map_kind_name(eng_map_kind k)
{
    switch (k) {
    case ENG_MAP_DATA: return "data";
    case ENG_MAP_ZERO: return "zero";
    default: return "unallocated";
    }
}

static void map_print(const eng_map_extent *x, bool json, bool first)
{
    if (json) {
        printf("%s{ \"start\": %llu, \"length\": %llu, \"kind\": \"%s\"",
               first ? "[" : ",\n", (unsigned long long)x->off,
               (unsigned long long)x->len, map_kind_name(x->kind));
        if (x->kind == ENG_MAP_DATA)
            printf(", \"offset\": %llu", (unsigned long long)x->host_off);
        printf(" }");
    } else {
        printf("0x%-16llx 0x%-16llx %-12s", (unsigned long long)x->off,
               (unsigned long long)x->len, map_kind_name(x->kind));
        if (x->kind == ENG_MAP_DATA)
            printf(" 0x%llx", (unsigned long long)x->host_off);
        printf("\n");
    }
}

/* Extents of one kind merge; data extents only when host-contiguous. */
static bool map_merges(const eng_map_extent *a, const eng_map_extent *b)
{
    if (a->kind != b->kind || a->off + a->len != b->off)
        return false;
    return a->kind != ENG_MAP_DATA || a->host_off + a->len == b->host_off;
}

int img_map(int argc, char **argv)
{
    int fa;
    bool json = img_output_json(argc, argv, &fa, img_map_usage);
    if (fa < 0)
        return CLI_USAGE;
    cli_image img;
    if (cli_image_open("img map", argv[fa], false, 0, &img) < 0)
        return 1;
    eng_info info;
    eng_get_info(img.e, &info);
    if (!json)
        printf("%-18s %-18s %-12s %s\n", "Offset", "Length", "Kind", "Host offset");
    eng_map_extent cur = {0}, x;
    bool have = false, first = true;
    int ret = 0;
    for (uint64_t off = 0; off < info.virtual_size; off += x.len) {
        ret = engsync_map(img.s, img.e, off, info.virtual_size - off, &x);
        if (ret < 0 || x.len == 0) {
            cli_err("img map", "mapping 0x%llx failed: %s",
                    (unsigned long long)off, strerror(ret < 0 ? -ret : EIO));
            ret = ret < 0 ? ret : -EIO;
            break;
        }
        if (have && map_merges(&cur, &x)) {
            cur.len += x.len;
            continue;
        }
        if (have)
            map_print(&cur, json, first), first = false;
        cur = x;
        have = true;
    }
    if (have && ret == 0)
        map_print(&cur, json, first);
    if (json)
        printf(first && !have ? "[]\n" : "]\n");
    int cret = cli_image_close(&img);
    return ret < 0 || cret < 0 ? 1 : 0;
}
