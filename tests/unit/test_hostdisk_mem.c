/*
 * test_hostdisk_mem.c - unit tests of the simulated host disk's memory
 * paths (models/hostdisk_mem.c and the buffer-saving paths of hostdisk.c):
 * writes that change no byte and so take no buffer, yet follow the
 * volatile-cache and power-loss rules exactly; recycled buffers that must
 * be filled around a partial write; zero tracking (a page once non-zero,
 * then zeroed, must vanish at flush; a durable page restored by a power
 * loss must stay); the pools' reuse; and allocation failures injected at
 * every allocation, on fresh disks and on disks whose free lists hold
 * memory. Every test ends with hostdisk_check() (invariants I1-I9).
 *
 * Ownership: every test creates and destroys its own disks and buffers.
 */
#include "test_hostdisk.h"

/* A 64 KiB durable length with data on its first two pages, flushed. */
static host_backend *flushed_disk(unsigned char **data)
{
    host_backend *b = new_disk();
    put(b, 0, 8192, 200, data);
    CHECK_EQ(host_truncate(b, 64 * KiB), 0);
    CHECK_EQ(host_flush(b), 0);
    return b;
}

/* Zeroes written over holes, below and past the durable length: no
 * buffer, no byte changed, but the sectors are volatile, keep() is asked
 * about each of them in order, and a kept one past the durable length
 * makes the file longer after the power loss. */
static void test_zero_writes_power_loss(void)
{
    static unsigned char zero[8192];

    for (int mode = 0; mode < 4; mode++) {
        unsigned char *data;
        host_backend *b = flushed_disk(&data);
        keeper k = {.mode = mode, .r = prng_seeded(300 + (uint64_t)mode)};
        size_t mem = hostdisk_mem_bytes(b);
        uint64_t h = hostdisk_hash(b), want = 64 * KiB;

        CHECK_EQ(host_pwrite(b, 20 * KiB, zero, 8192), 0); /* a hole */
        CHECK_EQ(host_pwrite(b, 68 * KiB, zero, 1000), 0); /* past dsize */
        CHECK(hostdisk_mem_bytes(b) - mem < 4096); /* page records only */
        CHECK_EQ(hostdisk_volatile_sectors(b), 16 + 2);
        CHECK_EQ(host_size(b), 68 * KiB + 1000);
        CHECK_EQ(hostdisk_check(b), 0);
        CHECK(hostdisk_hash(b) != h); /* the length changed, no byte */
        hostdisk_power_loss(b, mode ? keeper_keep : NULL, &k);
        CHECK_EQ(k.n, mode ? 18u : 0u);
        for (size_t i = 0; i < k.n && i < 18; i++) {
            uint64_t s = i < 16 ? 40 + i : 136 + (i - 16);
            CHECK_EQ(k.sectors[i], s);
            if (k.kept[i] && i >= 16)
                want = (s + 1) * SECTOR < 68 * KiB + 1000 ? (s + 1) * SECTOR
                                                          : 68 * KiB + 1000;
        }
        CHECK_EQ(host_size(b), want);
        CHECK_EQ(hostdisk_durable_size(b), want);
        expect(b, 0, data, 8192);
        expect_zero(b, 8192, (size_t)want - 8192, false);
        CHECK_EQ(hostdisk_mem_bytes(b), mem); /* the records are gone */
        CHECK_EQ(hostdisk_check(b), 0);
        keeper_free(&k);
        free(data);
        host_destroy(b);
    }
}

/* The bytes already there, written again: no buffer, volatile sectors,
 * and a power loss (keeping nothing) leaves the data as it was. */
static void test_rewrite_same_bytes(void)
{
    unsigned char *data;
    host_backend *b = flushed_disk(&data);
    size_t mem = hostdisk_mem_bytes(b);

    CHECK_EQ(host_pwrite(b, 100, data + 100, 6000), 0);
    CHECK_EQ(hostdisk_mem_bytes(b), mem);
    CHECK_EQ(hostdisk_volatile_sectors(b), 12);
    CHECK_EQ(hostdisk_check(b), 0);
    /* One byte changed: now the page needs its volatile copy. */
    data[5000] ^= 0x5a;
    CHECK_EQ(host_pwrite(b, 5000, data + 5000, 1), 0);
    CHECK_EQ(hostdisk_mem_bytes(b), mem + 4096);
    expect(b, 0, data, 8192);
    hostdisk_power_loss(b, NULL, NULL);
    data[5000] ^= 0x5a;
    expect(b, 0, data, 8192);
    CHECK_EQ(hostdisk_mem_bytes(b), mem);
    CHECK_EQ(hostdisk_check(b), 0);
    free(data);
    host_destroy(b);
}

/* Buffers come back from the free list holding old bytes: a partial
 * write into a hole must read zeroes around it, and one over durable
 * data must read that data around it, in both views. */
static void test_partial_write_recycled(void)
{
    host_backend *b = new_disk();
    unsigned char *junk, *old, *upd;
    size_t pool;

    put(b, 0, 64 * KiB, 210, &junk); /* non-zero everywhere */
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(host_truncate(b, 0), 0);
    pool = hostdisk_pool_bytes(b);
    put(b, 4096 + 100, 10, 211, &upd); /* into a hole */
    expect_zero(b, 0, 4096 + 100, false);
    expect(b, 4096 + 100, upd, 10);
    expect_zero(b, 4096 + 110, 4096 - 110, false);
    expect_zero(b, 0, 8192, true);
    free(upd);
    put(b, 16 * KiB, 4096, 212, &old); /* then over durable data */
    CHECK_EQ(host_flush(b), 0);
    put(b, 16 * KiB + 1000, 2000, 213, &upd);
    expect(b, 16 * KiB, old, 1000);
    expect(b, 16 * KiB + 1000, upd, 2000);
    expect(b, 16 * KiB + 3000, old + 3000, 1096);
    CHECK_EQ(hostdisk_pool_bytes(b), pool); /* all of it reused memory */
    CHECK_EQ(hostdisk_check(b), 0);
    free(junk);
    free(old);
    free(upd);
    host_destroy(b);
}

/* Released memory is reused: the same work again takes nothing new. */
static void test_pools_reuse(void)
{
    host_backend *b = new_disk();
    size_t empty = hostdisk_mem_bytes(b), pool = 0;

    for (int round = 0; round < 8; round++) {
        put(b, 0, 100 * KiB, 220, NULL);
        CHECK_EQ(host_flush(b), 0);
        put(b, 50 * KiB, 100 * KiB, 221, NULL);
        put(b, TiB, 4096, 222, NULL); /* a taller tree */
        if (round == 0)
            pool = hostdisk_pool_bytes(b);
        CHECK_EQ(hostdisk_pool_bytes(b), pool);
        CHECK(hostdisk_mem_bytes(b) <= pool + empty);
        CHECK_EQ(hostdisk_check(b), 0);
        if (round % 2)
            hostdisk_power_loss(b, NULL, NULL);
        CHECK_EQ(host_truncate(b, 0), 0);
        CHECK_EQ(hostdisk_mem_bytes(b), empty);
    }
    CHECK(pool >= 150 * KiB); /* the pages were really held */
    host_destroy(b);
}

/* Zero tracking: what it promises must hold whatever the writes did. */
static void test_zero_tracking(void)
{
    static unsigned char zero[4096];
    host_backend *b = new_disk(), *e = new_disk();
    size_t empty = hostdisk_mem_bytes(b);
    unsigned char *data;

    /* Non-zero bytes overwritten by zeroes: the page is freed at flush
     * (whether or not a hash looked at it first), and hashes as a hole. */
    for (int hash_first = 0; hash_first < 2; hash_first++) {
        put(b, 8192 + 3000, 50, 230, NULL);
        CHECK_EQ(host_pwrite(b, 8192 + 3000, zero, 50), 0);
        CHECK_EQ(host_truncate(e, host_size(b)), 0);
        if (hash_first)
            CHECK_EQ(hostdisk_hash(b), hostdisk_hash(e));
        CHECK_EQ(host_flush(b), 0);
        CHECK_EQ(hostdisk_mem_bytes(b), empty);
        CHECK_EQ(hostdisk_hash(b), hostdisk_hash(e));
        CHECK_EQ(hostdisk_check(b), 0);
    }

    /* A whole durable page overwritten by zeroes, then the power goes
     * and keeps nothing: the durable data must survive. */
    put(b, 0, 4096, 231, &data);
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(host_pwrite(b, 0, zero, 4096), 0);
    expect_zero(b, 0, 4096, false);
    CHECK_EQ(hostdisk_check(b), 0);
    hostdisk_power_loss(b, NULL, NULL);
    expect(b, 0, data, 4096);
    CHECK_EQ(hostdisk_check(b), 0);
    /* Again, keeping everything: the page is gone. */
    CHECK_EQ(host_pwrite(b, 0, zero, 4096), 0);
    {
        keeper k = {.mode = 1};
        hostdisk_power_loss(b, keeper_keep, &k);
        CHECK_EQ(k.n, 8);
        keeper_free(&k);
    }
    expect_zero(b, 0, 4096, true);
    CHECK_EQ(hostdisk_mem_bytes(b), empty);

    /* A truncate that cuts off a durable page's only non-zero bytes. */
    put(b, 0, 4096, 232, NULL);
    CHECK_EQ(host_pwrite(b, 0, zero, 2048), 0);
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(host_truncate(b, 2048), 0);
    CHECK_EQ(hostdisk_mem_bytes(b), empty);
    CHECK_EQ(hostdisk_check(b), 0);
    free(data);
    host_destroy(b);
    host_destroy(e);
}

/* A disk whose free lists hold pages, buffers and nodes, then seeded. */
static host_backend *recycled_disk(void)
{
    host_backend *b = new_disk();
    put(b, TiB - 64 * KiB, 128 * KiB, 240, NULL);
    put(b, 0, 32 * KiB, 241, NULL);
    CHECK_EQ(host_flush(b), 0);
    CHECK_EQ(host_truncate(b, 0), 0);
    put(b, 0, 6000, 100, NULL);
    CHECK_EQ(host_flush(b), 0);
    put(b, 5000, 3000, 101, NULL);
    return b;
}

/* One write at its n-th allocation failing, for every n until it
 * succeeds: every failure is -ENOMEM and leaves the disk as it was (tree
 * height and memory included). Returns the n that succeeded. */
static long fail_each_alloc(host_backend *(*make)(void), uint64_t off,
                            size_t len, bool zeroes)
{
    long n;

    for (n = 0; n < 100; n++) {
        host_backend *b = make();
        snapshot before = snap(b);
        unsigned char *data = malloc(len);
        int rc;

        fill(data, len, 102);
        if (zeroes)
            memset(data, 0, len);
        hostdisk_fail_allocs_after(b, n);
        rc = host_pwrite(b, off, data, len);
        hostdisk_fail_allocs_after(b, -1);
        if (rc == 0)
            expect(b, off, data, len);
        else {
            CHECK_EQ(rc, -ENOMEM);
            expect_snap(b, &before);
        }
        CHECK_EQ(hostdisk_check(b), 0);
        free(data);
        host_destroy(b);
        if (rc == 0)
            break;
    }
    return n;
}

static void test_alloc_failures_write(void)
{
    static const struct {
        uint64_t off;
        size_t len;
        bool zeroes;
    } writes[] = {
        {TiB - 5000, 12000, false}, /* new pages in a new, taller subtree */
        {3000, 4 * 4096, false},    /* old pages, volatile ones, new ones */
        {HOSTDISK_MAX_SIZE - 9000, 9000, false}, /* the tallest tree */
        {3000, 4 * 4096, true}, /* zeroes: buffers only where bytes change */
        {TiB, 3 * 4096, true},  /* zeroes into holes: page records only */
    };

    for (size_t w = 0; w < sizeof(writes) / sizeof(writes[0]); w++) {
        long fresh = fail_each_alloc(seeded_disk, writes[w].off, writes[w].len,
                                     writes[w].zeroes);
        long reused = fail_each_alloc(recycled_disk, writes[w].off,
                                      writes[w].len, writes[w].zeroes);
        CHECK(fresh > 2 && fresh < 100); /* some failed, then success */
        CHECK_EQ(reused, fresh);         /* reused memory counts the same */
    }
}

static void test_alloc_failures_load(void)
{
    host_backend *src = seeded_disk();
    char *path = temp_path();
    long n;

    put(src, 40 * MiB, 70000, 103, NULL);
    CHECK_EQ(hostdisk_save(src, path), 0);
    for (n = 0; n < 200; n++) {
        host_backend *b = seeded_disk();
        snapshot before = snap(b);
        int rc;

        hostdisk_fail_allocs_after(b, n);
        rc = hostdisk_load(b, path);
        hostdisk_fail_allocs_after(b, -1);
        if (rc == 0)
            CHECK_EQ(hostdisk_hash(b), hostdisk_hash(src));
        else {
            CHECK_EQ(rc, -ENOMEM);
            expect_snap(b, &before);
        }
        CHECK_EQ(hostdisk_check(b), 0);
        host_destroy(b);
        if (rc == 0)
            break;
    }
    CHECK(n > 10 && n < 200);
    unlink(path);
    free(path);
    host_destroy(src);
}

static const unit_test tests[] = {
    UNIT(test_zero_writes_power_loss), UNIT(test_rewrite_same_bytes),
    UNIT(test_partial_write_recycled), UNIT(test_pools_reuse),
    UNIT(test_zero_tracking),          UNIT(test_alloc_failures_write),
    UNIT(test_alloc_failures_load),
};

UNIT_MAIN(tests)
