/*
 * test_hostdisk.c - unit tests of the simulated host disk (models/hostdisk.c).
 *
 * The core test drives a hostdisk and a flat reference (two byte arrays,
 * current and durable, plus a volatile flag per sector) with the same
 * seeded random mix of writes, reads, flushes, truncates and power losses,
 * and compares every read, length, counter and hash. The reference states
 * the rules of hostdisk.h in the plainest way; the directed tests below it
 * check each rule once more on hand-picked cases (holes, sparseness, torn
 * sectors, lengths after power loss, hashing, save/load). After every
 * random step hostdisk_check() asserts the representation's invariants
 * (I1-I9, models/hostdisk_int.h). Memory, pools, writes that change no
 * byte and allocation failures are tested in test_hostdisk_mem.c.
 *
 * Ownership: every test creates and destroys its own disks and buffers;
 * temporary files come from mkstemp under /tmp and are unlinked.
 */
#include "hostdisk_int.h"
#include "test_hostdisk.h"

/* ---- the flat reference ------------------------------------------------ */

#define REF_MAX ((size_t)256 << 10)

typedef struct ref {
    unsigned char *cur, *dur;
    bool *vol; /* per sector */
    uint64_t size, dsize;
} ref;

static void ref_init(ref *m)
{
    m->cur = calloc(REF_MAX, 1);
    m->dur = calloc(REF_MAX, 1);
    m->vol = calloc(REF_MAX / SECTOR, sizeof(bool));
    m->size = m->dsize = 0;
}

static void ref_free(ref *m)
{
    free(m->cur);
    free(m->dur);
    free(m->vol);
}

static size_t ref_vol_count(const ref *m)
{
    size_t n = 0;
    for (size_t s = 0; s < REF_MAX / SECTOR; s++)
        n += m->vol[s];
    return n;
}

static void ref_write(ref *m, uint64_t off, const unsigned char *buf,
                      size_t len)
{
    memcpy(m->cur + off, buf, len);
    for (uint64_t s = off / SECTOR; s <= (off + len - 1) / SECTOR; s++)
        m->vol[s] = true;
    if (off + len > m->size)
        m->size = off + len;
}

static void ref_flush(ref *m)
{
    memcpy(m->dur, m->cur, REF_MAX);
    memset(m->vol, 0, REF_MAX / SECTOR * sizeof(bool));
    m->dsize = m->size;
}

static void ref_truncate(ref *m, uint64_t n)
{
    memset(m->cur + n, 0, REF_MAX - n);
    memset(m->dur + n, 0, REF_MAX - n);
    for (uint64_t s = (n + SECTOR - 1) / SECTOR; s < REF_MAX / SECTOR; s++)
        m->vol[s] = false;
    m->size = m->dsize = n;
}

/* Applies the decisions the disk asked k for; checks it asked about
 * exactly the volatile sectors, in order. */
static void ref_power_loss(ref *m, const keeper *k)
{
    uint64_t end = m->dsize;
    size_t i = 0;

    for (uint64_t s = 0; s < REF_MAX / SECTOR; s++) {
        bool keep = false;
        if (!m->vol[s])
            continue;
        if (k->mode >= 1) {
            CHECK(i < k->n);
            if (i < k->n) {
                CHECK_EQ(k->sectors[i], s);
                keep = k->kept[i];
            }
            i++;
        }
        m->vol[s] = false;
        if (keep) {
            uint64_t e =
                (s + 1) * SECTOR < m->size ? (s + 1) * SECTOR : m->size;
            end = e > end ? e : end;
            continue;
        }
        memcpy(m->cur + s * SECTOR, m->dur + s * SECTOR, SECTOR);
    }
    CHECK_EQ(i, k->n);
    memset(m->cur + end, 0, REF_MAX - end);
    memcpy(m->dur, m->cur, REF_MAX);
    m->size = m->dsize = end;
}

/* Reads [off, off + len) of both views from disk and reference. */
static void ref_compare(host_backend *b, const ref *m, uint64_t off, size_t len)
{
    unsigned char *got = malloc(len), *want = malloc(len);

    for (int durable = 0; durable < 2; durable++) {
        const unsigned char *src = durable ? m->dur : m->cur;
        for (size_t i = 0; i < len; i++)
            want[i] = off + i < REF_MAX ? src[off + i] : 0;
        memset(got, 0xa5, len);
        if (durable)
            CHECK_EQ(hostdisk_pread_durable(b, off, got, len), 0);
        else
            CHECK_EQ(host_pread(b, off, got, len), 0);
        CHECK_MEM(got, want, len);
    }
    free(got);
    free(want);
}

/* An offset that often lands near a page or sector boundary. */
static uint64_t pick_offset(prng *r, uint64_t limit)
{
    uint64_t off;
    switch (below(r, 3)) {
    case 0:
        off = below(r, limit / 4096) * 4096 + below(r, 17) - 8;
        break;
    case 1:
        off = below(r, limit / SECTOR) * SECTOR;
        break;
    default:
        off = below(r, limit);
    }
    return off < limit ? off : limit - 1; /* wraps below 0 land here too */
}

static void random_op(host_backend *b, ref *m, prng *r, unsigned char *buf)
{
    uint64_t roll = below(r, 100), off, len;
    keeper k = {0};

    if (roll < 45) { /* write, up to three pages, inside REF_MAX */
        len = 1 + below(r, 3 * 4096);
        off = pick_offset(r, REF_MAX - len);
        fill(buf, len, prng_next(r));
        switch (below(r, 8)) {
        case 0: /* zero writes must still count */
            memset(buf, 0, len);
            break;
        case 1: /* the bytes already there, maybe a few changed */
            CHECK_EQ(host_pread(b, off, buf, len), 0);
            if (below(r, 2))
                buf[below(r, len)] ^= (unsigned char)(1 + below(r, 255));
            break;
        case 2: /* zeroes and data mixed: zero tracking's hard case */
            memset(buf, 0, below(r, len + 1));
            break;
        }
        CHECK_EQ(host_pwrite(b, off, buf, len), 0);
        ref_write(m, off, buf, len);
    } else if (roll < 80) { /* read, sometimes past the reference's end */
        len = 1 + below(r, 10000);
        ref_compare(b, m, pick_offset(r, REF_MAX + 8192), len);
    } else if (roll < 88) {
        CHECK_EQ(host_flush(b), 0);
        ref_flush(m);
    } else if (roll < 95) { /* truncate, more often shrinking */
        off =
            below(r, 2) ? pick_offset(r, m->size + 1) : pick_offset(r, REF_MAX);
        CHECK_EQ(host_truncate(b, off), 0);
        ref_truncate(m, off);
    } else {
        k.mode = (int)below(r, 4);
        k.r = prng_seeded(prng_next(r));
        hostdisk_power_loss(b, k.mode ? keeper_keep : NULL, &k);
        ref_power_loss(m, &k);
        keeper_free(&k);
    }
}

static void test_random_vs_flat(void)
{
    host_backend *b = new_disk();
    size_t empty_mem = hostdisk_mem_bytes(b);
    unsigned char *buf = malloc(3 * 4096);
    prng r = prng_seeded(20240601);
    ref m;

    ref_init(&m);
    for (int i = 0; i < 20000; i++) {
        random_op(b, &m, &r, buf);
        CHECK_EQ(host_size(b), m.size);
        CHECK_EQ(hostdisk_durable_size(b), m.dsize);
        CHECK_EQ(hostdisk_volatile_sectors(b), ref_vol_count(&m));
        CHECK_EQ(hostdisk_check(b), 0);
        if (i % 97 == 0)
            CHECK_EQ(hostdisk_hash(b), flat_hash(m.cur, m.size));
        if (unit_failures)
            break; /* one divergence is enough to read */
    }
    ref_compare(b, &m, 0, REF_MAX + 4096);
    /* Memory stays near two pages per 4 KiB touched, plus tree nodes. */
    CHECK(hostdisk_mem_bytes(b) <= empty_mem + 3 * REF_MAX);
    CHECK_EQ(host_truncate(b, 0), 0);
    CHECK_EQ(hostdisk_mem_bytes(b), empty_mem);
    free(buf);
    ref_free(&m);
    host_destroy(b);
}

/* ---- directed tests --------------------------------------------------- */

static void test_holes_and_eof(void)
{
    host_backend *b = new_disk();
    unsigned char *data;

    CHECK_EQ(host_size(b), 0);
    expect_zero(b, 0, 8192, false);
    expect_zero(b, TiB, 4096, false);
    put(b, 5000, 10, 1, &data);
    CHECK_EQ(host_size(b), 5010);
    expect_zero(b, 0, 5000, false);
    expect(b, 5000, data, 10);
    expect_zero(b, 5010, 20000, false); /* past EOF, then past the page */
    CHECK_EQ(hostdisk_durable_size(b), 0);
    expect_zero(b, 0, 8192, true); /* nothing durable yet */
    free(data);
    host_destroy(b);
}

static void test_sparse(void)
{
    host_backend *b = new_disk();
    size_t empty_mem = hostdisk_mem_bytes(b);
    unsigned char *data;

    put(b, TiB, 4096, 2, &data);
    CHECK_EQ(host_size(b), TiB + 4096);
    CHECK(hostdisk_mem_bytes(b) - empty_mem < 32 * KiB);
    CHECK_EQ(host_flush(b), 0);
    CHECK(hostdisk_mem_bytes(b) - empty_mem < 16 * KiB);
    expect(b, TiB, data, 4096);
    expect_zero(b, TiB / 2, 65536, false);
    expect_zero(b, TiB - 512, 512, false);
    /* A write near the top of the range costs little more. */
    put(b, HOSTDISK_MAX_SIZE - 100, 100, 3, NULL);
    CHECK_EQ(host_size(b), HOSTDISK_MAX_SIZE);
    CHECK(hostdisk_mem_bytes(b) - empty_mem < 64 * KiB);
    free(data);
    host_destroy(b);
}

static void test_range_errors(void)
{
    host_backend *b = new_disk();
    unsigned char buf[16] = {1};

    CHECK_EQ(host_pwrite(b, HOSTDISK_MAX_SIZE, buf, 1), -EFBIG);
    CHECK_EQ(host_pwrite(b, UINT64_MAX - 4, buf, 16), -EFBIG);
    CHECK_EQ(host_truncate(b, HOSTDISK_MAX_SIZE + 1), -EFBIG);
    CHECK_EQ(host_pread(b, UINT64_MAX - 4, buf, 16), -EINVAL);
    CHECK_EQ(hostdisk_pread_durable(b, UINT64_MAX, buf, 2), -EINVAL);
    CHECK_EQ(host_size(b), 0);
    CHECK_EQ(hostdisk_volatile_sectors(b), 0);
    memset(buf, 7, sizeof(buf));
    CHECK_EQ(host_pread(b, UINT64_MAX - 16, buf, 16), 0);
    CHECK(all_bytes(buf, 16, 0));
    CHECK_EQ(host_pwrite(b, 100, buf, 0), 0); /* empty write: no growth */
    CHECK_EQ(host_size(b), 0);
    host_destroy(b);
}

static void test_volatile_counting(void)
{
    host_backend *b = new_disk();

    put(b, 0, 1, 1, NULL);
    CHECK_EQ(hostdisk_volatile_sectors(b), 1);
    put(b, 511, 2, 2, NULL); /* sectors 0 and 1 */
    CHECK_EQ(hostdisk_volatile_sectors(b), 2);
    put(b, 4095, 2, 3, NULL); /* sectors 7 and 8, across a page */
    CHECK_EQ(hostdisk_volatile_sectors(b), 4);
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(hostdisk_volatile_sectors(b), 0);
    CHECK_EQ(hostdisk_durable_size(b), 4097);
    host_destroy(b);
}

static void test_power_loss_unflushed(void)
{
    host_backend *b = new_disk();
    unsigned char *a, *n;

    put(b, 1000, 9000, 10, &a);
    CHECK_EQ(host_flush(b), 0);
    put(b, 3000, 5000, 11, &n);
    hostdisk_power_loss(b, NULL, NULL); /* keep none */
    expect(b, 1000, a, 9000);
    CHECK_EQ(host_size(b), 10000);
    CHECK_EQ(hostdisk_volatile_sectors(b), 0);

    /* Nothing ever flushed: back to the empty file. */
    host_destroy(b);
    b = new_disk();
    put(b, 0, 4096, 12, NULL);
    hostdisk_power_loss(b, NULL, NULL);
    CHECK_EQ(host_size(b), 0);
    expect_zero(b, 0, 4096, false);
    free(a);
    free(n);
    host_destroy(b);
}

static void test_power_loss_flushed(void)
{
    host_backend *b = new_disk();
    unsigned char *a, *n;
    keeper k = {.mode = 0};

    put(b, 1000, 9000, 20, &a);
    CHECK_EQ(host_flush(b), 0);
    put(b, 3000, 5000, 21, &n);
    CHECK_EQ(host_flush(b), 0);
    hostdisk_power_loss(b, keeper_keep, &k);
    CHECK_EQ(k.n, 0); /* nothing volatile: keep never asked */
    expect(b, 1000, a, 2000);
    expect(b, 3000, n, 5000);
    expect(b, 8000, a + 7000, 2000);
    keeper_free(&k);
    free(a);
    free(n);
    host_destroy(b);
}

/* Old content on sectors 0..15, a new write over bytes [1124, 6900)
 * (sectors 2..13, across the page boundary at sector 8); a power loss
 * keeping odd sectors must give exactly old, new, old, new, ... */
static void test_power_loss_torn(void)
{
    host_backend *b = new_disk();
    unsigned char *old, *upd, want[16 * SECTOR];
    keeper k = {.mode = 2};

    put(b, 0, sizeof(want), 30, &old);
    CHECK_EQ(host_flush(b), 0);
    put(b, 1124, 6900 - 1124, 31, &upd);
    memcpy(want, old, sizeof(want));
    for (unsigned s = 2; s <= 13; s++) {
        if (s % 2 == 0)
            continue;
        for (unsigned i = s * SECTOR; i < (s + 1) * SECTOR; i++)
            if (i >= 1124 && i < 6900)
                want[i] = upd[i - 1124];
    }
    hostdisk_power_loss(b, keeper_keep, &k);
    CHECK_EQ(k.n, 12);
    for (size_t i = 0; i < k.n && i < 12; i++)
        CHECK_EQ(k.sectors[i], 2 + i);
    expect(b, 0, want, sizeof(want));
    CHECK_EQ(hostdisk_volatile_sectors(b), 0);
    expect(b, 0, want, sizeof(want));
    /* The durable view agrees: the crash result is durable. */
    {
        unsigned char got[sizeof(want)];
        CHECK_EQ(hostdisk_pread_durable(b, 0, got, sizeof(got)), 0);
        CHECK_MEM(got, want, sizeof(want));
    }
    keeper_free(&k);
    free(old);
    free(upd);
    host_destroy(b);
}

/* The surviving length: durable length raised to the last kept sector. */
static void test_power_loss_length(void)
{
    static const struct {
        int mode;
        uint64_t size;
    } cases[] = {{0, 0}, {1, 3000}, {2, 3000}, {3, 0}};
    /* mode 2 keeps odd sectors 1, 3, 5: 5 is the last, ending past 3000 */

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        host_backend *b = new_disk();
        keeper k = {.mode = cases[c].mode, .r = {99}};
        unsigned char *data;
        uint64_t want = cases[c].size;

        put(b, 0, 3000, 40, &data);
        hostdisk_power_loss(b, keeper_keep, &k);
        if (cases[c].mode == 3) { /* random: compute from the answers */
            for (size_t i = 0; i < k.n; i++)
                if (k.kept[i])
                    want = (k.sectors[i] + 1) * SECTOR < 3000
                               ? (k.sectors[i] + 1) * SECTOR
                               : 3000;
        }
        CHECK_EQ(k.n, 6);
        CHECK_EQ(host_size(b), want);
        CHECK_EQ(hostdisk_durable_size(b), want);
        for (size_t i = 0; i < k.n; i++) {
            uint64_t at = k.sectors[i] * SECTOR;
            size_t n = at + SECTOR < 3000 ? SECTOR : 3000 - at;
            if (k.kept[i])
                expect(b, at, data + at, n);
            else
                expect_zero(b, at, n, false);
        }
        keeper_free(&k);
        free(data);
        host_destroy(b);
    }
}

static void test_truncate(void)
{
    host_backend *b = new_disk();
    unsigned char *data;

    put(b, 0, 10000, 50, &data);
    CHECK_EQ(host_truncate(b, 5000), 0);
    CHECK_EQ(host_size(b), 5000);
    expect(b, 0, data, 5000);
    expect_zero(b, 5000, 8000, false);
    /* Sectors wholly past 5000 are no longer volatile; 9 (4608..5120)
     * still is: 0..9 remain. */
    CHECK_EQ(hostdisk_volatile_sectors(b), 10);
    CHECK_EQ(host_truncate(b, 20000), 0);
    CHECK_EQ(host_size(b), 20000);
    expect(b, 0, data, 5000);
    expect_zero(b, 5000, 15000, false);
    /* truncate is synchronous: a power loss keeps the length, and the
     * unflushed data below it is gone. */
    hostdisk_power_loss(b, NULL, NULL);
    CHECK_EQ(host_size(b), 20000);
    expect_zero(b, 0, 20000, false);

    /* Shrink of flushed data is durable at once, and the tail reads as
     * zeroes after growing back. */
    put(b, 0, 10000, 51, NULL);
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(host_truncate(b, 4097), 0);
    hostdisk_power_loss(b, NULL, NULL);
    CHECK_EQ(host_size(b), 4097);
    CHECK_EQ(host_truncate(b, 12000), 0);
    expect_zero(b, 4097, 12000 - 4097, false);
    expect_zero(b, 4097, 12000 - 4097, true);
    CHECK_EQ(host_truncate(b, 0), 0);
    CHECK_EQ(host_size(b), 0);
    CHECK_EQ(hostdisk_volatile_sectors(b), 0);
    free(data);
    host_destroy(b);
}

static void test_hash(void)
{
    host_backend *x = new_disk(), *y = new_disk(), *z = new_disk();
    unsigned char zero[4096] = {0};
    uint64_t hx;

    /* Same content by different routes: other write order, overwrites,
     * explicit zeroes versus holes, flushed versus not. */
    put(x, 100, 5000, 60, NULL);
    put(x, 9000, 3000, 61, NULL);
    put(x, 20000, 10, 62, NULL);
    CHECK_EQ(host_pwrite(x, 30000, zero, 4096), 0);

    put(y, 9000, 3000, 61, NULL);
    put(y, 0, 8000, 63, NULL);
    CHECK_EQ(host_pwrite(y, 0, zero, 100), 0);
    CHECK_EQ(host_pwrite(y, 5100, zero, 2900), 0);
    CHECK_EQ(host_flush(y), 0);
    put(y, 100, 5000, 60, NULL);
    put(y, 20000, 10, 62, NULL);
    CHECK_EQ(host_truncate(y, 34096), 0);

    hx = hostdisk_hash(x);
    CHECK_EQ(host_size(x), host_size(y));
    CHECK_EQ(hx, hostdisk_hash(y));
    CHECK_EQ(host_flush(x), 0);
    CHECK_EQ(hx, hostdisk_hash(x));

    /* Different content: one byte, or only the length. */
    put(z, 9000, 3000, 61, NULL);
    CHECK(hostdisk_hash(z) != hx);
    CHECK_EQ(host_truncate(x, 34095), 0);
    CHECK(hostdisk_hash(x) != hx);
    CHECK(hostdisk_hash(x) != hostdisk_hash(z));
    host_destroy(x);
    host_destroy(y);
    host_destroy(z);
}

/* The hash follows its definition: non-zero pages and the length. */
static void test_hash_is_xxh3_of_bytes(void)
{
    host_backend *b = new_disk();
    size_t len = (size_t)(64 * MiB + 4096 + 7);
    unsigned char *flat = calloc(len, 1), *data;

    CHECK_EQ(hostdisk_hash(b), flat_hash(flat, 0));
    put(b, 64 * MiB, 4096 + 7, 70, &data);
    memcpy(flat + 64 * MiB, data, 4096 + 7);
    put(b, 12345, 100, 71, NULL);
    CHECK_EQ(host_pread(b, 12345, flat + 12345, 100), 0);
    CHECK_EQ(hostdisk_hash(b), flat_hash(flat, len));
    free(data);
    free(flat);
    host_destroy(b);
}

static void test_save_load(void)
{
    host_backend *b = new_disk(), *c = new_disk();
    char *path = temp_path();
    unsigned char zero[8192] = {0}, *chunk = malloc(MiB);
    uint64_t size = 20 * MiB + 5, h;
    struct stat st;
    int fd;

    put(b, 0, 777, 80, NULL);
    put(b, MiB + 77, 9000, 81, NULL);
    CHECK_EQ(host_flush(b), 0);
    put(b, 16 * MiB - 3, 4100, 82, NULL); /* unflushed: saved anyway */
    CHECK_EQ(host_pwrite(b, 8 * MiB, zero, sizeof(zero)), 0);
    CHECK_EQ(host_truncate(b, size), 0);
    h = hostdisk_hash(b);
    CHECK_EQ(hostdisk_save(b, path), 0);

    /* The file has the content, the length and holes. */
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_size, size);
    CHECK((uint64_t)st.st_blocks * 512 < 2 * MiB);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    {
        unsigned char *whole = malloc(size);
        for (uint64_t off = 0; off < size; off += MiB) {
            size_t n = size - off < MiB ? (size_t)(size - off) : MiB;
            CHECK_EQ(pread(fd, chunk, n, (off_t)off), n);
            expect(b, off, chunk, n);
            memcpy(whole + off, chunk, n);
        }
        CHECK_EQ(flat_hash(whole, size), h); /* the file hashes the same */
        free(whole);
    }
    close(fd);

    /* Loading replaces whatever c held, and all of it is durable. */
    put(c, 50 * MiB, 100, 83, NULL);
    CHECK_EQ(hostdisk_load(c, path), 0);
    CHECK_EQ(host_size(c), size);
    CHECK_EQ(hostdisk_durable_size(c), size);
    CHECK_EQ(hostdisk_volatile_sectors(c), 0);
    CHECK_EQ(hostdisk_hash(c), h);
    hostdisk_power_loss(c, NULL, NULL);
    CHECK_EQ(hostdisk_hash(c), h);
    CHECK(hostdisk_mem_bytes(c) < 256 * KiB); /* holes, zero page skipped */

    /* A failed load changes nothing. */
    CHECK_EQ(hostdisk_load(c, "/nonexistent-cowpoke/x"), -ENOENT);
    CHECK_EQ(hostdisk_hash(c), h);
    CHECK_EQ(hostdisk_save(c, "/nonexistent-cowpoke/x"), -ENOENT);

    unlink(path);
    free(path);
    free(chunk);
    host_destroy(b);
    host_destroy(c);
}

/* Loading a file whose data is not page-aligned and sits among holes. */
static void test_load_unaligned(void)
{
    host_backend *b = new_disk();
    char *path = temp_path();
    unsigned char *data = malloc(10000);
    int fd = open(path, O_WRONLY | O_TRUNC);

    fill(data, 10000, 90);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, data, 10000, 3 * MiB + 1), 10000);
    CHECK_EQ(pwrite(fd, data, 1, 7), 1);
    CHECK_EQ(ftruncate(fd, 5 * MiB + 3), 0);
    close(fd);
    CHECK_EQ(hostdisk_load(b, path), 0);
    CHECK_EQ(host_size(b), 5 * MiB + 3);
    expect(b, 3 * MiB + 1, data, 10000);
    expect(b, 7, data, 1);
    expect_zero(b, 0, 7, false);
    expect_zero(b, 8, 3 * MiB - 7, true);
    expect_zero(b, 3 * MiB + 10001, 2 * MiB, true);
    unlink(path);
    free(path);
    free(data);
    host_destroy(b);
}

/* hd_first_nz, the zero scan behind sparse pages (its vector path and its
 * scalar tail alike): the first non-zero byte at every kind of position,
 * alignment and length, against a byte loop. */
static void test_first_nz(void)
{
    static unsigned char b[70000];
    prng g = prng_seeded(11);

    for (int it = 0; it < 20000; it++) {
        memset(b, 0, sizeof(b));
        size_t off = prng_below(&g, 4096);
        size_t n = prng_below(&g, sizeof(b) - off + 1);
        size_t pos = prng_below(&g, n + 1); /* n: all zero */
        if (pos < n) {
            b[off + pos] = (unsigned char)(1 + prng_below(&g, 255));
            b[off + pos + prng_below(&g, n - pos)] = 7; /* later ones too */
        }
        size_t want = n;
        for (size_t i = 0; i < n; i++)
            if (b[off + i]) {
                want = i;
                break;
            }
        CHECK_EQ(hd_first_nz(b + off, n), want);
    }
}

static const unit_test tests[] = {
    UNIT(test_first_nz),
    UNIT(test_random_vs_flat),
    UNIT(test_holes_and_eof),
    UNIT(test_sparse),
    UNIT(test_range_errors),
    UNIT(test_volatile_counting),
    UNIT(test_power_loss_unflushed),
    UNIT(test_power_loss_flushed),
    UNIT(test_power_loss_torn),
    UNIT(test_power_loss_length),
    UNIT(test_truncate),
    UNIT(test_hash),
    UNIT(test_hash_is_xxh3_of_bytes),
    UNIT(test_save_load),
    UNIT(test_load_unaligned),
};

UNIT_MAIN(tests)
