/*
 * unit.h - the minimal unit-test scaffolding every tests/unit/test_*.c uses.
 *
 * A test file defines static void functions, lists them in a unit_test
 * array with UNIT(fn), and ends with UNIT_MAIN(array). CMake globs
 * tests/unit/test_*.c and registers each file as one ctest test.
 *
 *   CHECK(cond)            records a failure (file:line and the expression)
 *                          and goes on; the test file exits 1 at the end.
 *   CHECK_EQ(a, b)         same, printing both values as unsigned 64-bit.
 *   CHECK_MEM(a, b, n)     same for memory, printing the first difference.
 *
 * `test_x NAME` runs only the test NAME; with no argument all run.
 */
#ifndef COWPOKE_UNIT_H
#define COWPOKE_UNIT_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct unit_test {
    const char *name;
    void (*fn)(void);
} unit_test;

#define UNIT(fn) { #fn, fn }

static int unit_failures;

static inline void unit_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    unit_failures++;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            unit_fail(__FILE__, __LINE__, #cond);                              \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        uint64_t unit_a_ = (uint64_t)(a), unit_b_ = (uint64_t)(b);             \
        if (unit_a_ != unit_b_) {                                              \
            fprintf(stderr, "%s:%d: %s == %s: 0x%" PRIx64 " != 0x%" PRIx64 "\n", \
                    __FILE__, __LINE__, #a, #b, unit_a_, unit_b_);             \
            unit_failures++;                                                   \
        }                                                                      \
    } while (0)

#define CHECK_MEM(a, b, n)                                                     \
    do {                                                                       \
        const unsigned char *unit_p_ = (const void *)(a);                      \
        const unsigned char *unit_q_ = (const void *)(b);                      \
        size_t unit_n_ = (n);                                                  \
        for (size_t unit_i_ = 0; unit_i_ < unit_n_; unit_i_++) {              \
            if (unit_p_[unit_i_] != unit_q_[unit_i_]) {                        \
                fprintf(stderr, "%s:%d: %s and %s differ at byte %zu: "       \
                        "0x%02x != 0x%02x\n", __FILE__, __LINE__, #a, #b,      \
                        unit_i_, unit_p_[unit_i_], unit_q_[unit_i_]);          \
                unit_failures++;                                               \
                break;                                                         \
            }                                                                  \
        }                                                                      \
    } while (0)

static inline int unit_run(const unit_test *t, size_t n, int argc, char **argv)
{
    size_t ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 1 && strcmp(argv[1], t[i].name) != 0)
            continue;
        int before = unit_failures;
        t[i].fn();
        ran++;
        printf("%s %s\n", unit_failures == before ? "ok  " : "FAIL", t[i].name);
    }
    if (ran == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    printf("%zu tests, %d failed checks\n", ran, unit_failures);
    return unit_failures ? 1 : 0;
}

#define UNIT_MAIN(tests)                                                       \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        return unit_run(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);  \
    }

#endif
