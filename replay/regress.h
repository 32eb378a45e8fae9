/*
 * regress.h - the regression suite's tooling (the .io files of
 * tests/regress): adding a reproducer with the right `# expect:` header,
 * and listing the suite for `cowpoke regress run`.
 *
 * A suite test is one .io file; CMake globs the .io files of tests/regress
 * and registers each as the ctest test regress/NAME (NAME: the file name
 * without .io), which replays it five times and demands its `# expect:`
 * verdict every time. regress_add writes such a file: the verdict the
 * script shows now (under a mutant the file itself carries `mutant NAME`,
 * so a plain replay sees it), and never overwrites one.
 *
 * Ownership: results are the caller's; lists are malloc'd and freed with
 * regress_list_free. The library never prints: messages go into caller
 * buffers.
 */
#ifndef COWPOKE_REGRESS_H
#define COWPOKE_REGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script.h"

#define REGRESS_NAME_MAX 64
#define REGRESS_DEFAULT_DIR "tests/regress"
#define REGRESS_REPEAT 5 /* as the ctest test replays it */

/* A suite name: 1..64 of letters, digits, '_' and '-', starting with a
 * letter, digit or '_' (no '.': CMake's NAME_WE stops at the first one).
 * 0, or -EINVAL with the reason in why. */
int regress_name_check(const char *name, char *why, size_t len);

/* The default name for a file: its base name without a trailing ".io". */
void regress_default_name(const char *file, char *buf, size_t len);

typedef struct regress_add_opts {
    const char *name; /* NULL: regress_default_name(file) */
    const char *dir;  /* NULL: REGRESS_DEFAULT_DIR */
    uint64_t mutants; /* switched on, written as `mutant` lines */
    uint64_t budget;  /* scheduler steps per run; 0: the default */
    bool in_process;  /* replay without a child process (tests) */
} regress_add_opts;

typedef struct regress_add_result {
    char path[1024];        /* the file written */
    char name[REGRESS_NAME_MAX + 1];
    script_verdict verdict; /* what the script shows now: its expect */
    bool had_expect;        /* the input had a `# expect:` header ... */
    script_verdict old;     /* ... saying this */
    bool mutant;            /* a mutant is on (in the file) */
    bool real_bug;          /* a failing verdict without any mutant: an
                               engine bug, expected until its fix lands */
} regress_add_result;

/*
 * Replay file (REGRESS_REPEAT times: they must agree) and write it, in
 * canonical form with `# expect: VERDICT` and the mutants' lines, to
 * DIR/NAME.io. 0 and r filled; -EINVAL (bad name, a script that does not
 * parse, runs that disagree), -EEXIST (the file is there already),
 * -ENOENT (no such folder) or another -errno, with err saying why.
 */
int regress_add(const char *file, const regress_add_opts *o,
                regress_add_result *r, char *err, size_t errlen);

/* The *.io files of dir, sorted by name (bytewise): a malloc'd array of
 * malloc'd file names (without the folder). 0 or -errno. */
int regress_list(const char *dir, char ***names, size_t *n);
void regress_list_free(char **names, size_t n);

#endif
