/*
 * crashpoints_worker.c - the crash-point driver's forked worker (see
 * crashpoints_int.h): cheap isolation for `cowpoke replay --crash-points`.
 *
 * A child process per run costs a fork, a page-table copy and an exit per
 * run (several times the run itself on a short trace). Instead, the
 * parent forks one worker, which tries points first..last in process, one
 * after another, and publishes its report into a shared anonymous mapping
 * after every point it finishes, with the next point to try. When the
 * worker ends normally, its report is the driver's. When it dies (an
 * engine assertion, a sanitizer report, a signal), the parent takes the
 * report as of the last finished point, tries the point the worker died
 * on again with a child process per run (crashpoints.c, isolate), so the
 * death is attributed to its run as the verdict engine-abort, and forks a
 * new worker for the points after it.
 *
 * Output: the worker calls the caller's progress and found callbacks and
 * writes reproducers itself; stdio buffers are flushed before each fork,
 * and the worker flushes before it ends, so nothing is printed twice. A
 * point the worker died on may report failures it found before dying
 * twice (once from the worker, once from the re-run); its counts are taken
 * once.
 *
 * Invariant: the parent's report only ever moves from one finished point
 * to the next; the worker never returns into the caller (it _exits).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashpoints_int.h"

typedef struct crashpt_shared {
    crashpt_report rep; /* as of the last point the worker finished */
    uint64_t next;      /* the point it is trying (or would try next) */
    int err;            /* the worker's -errno, or 0 */
    volatile int done;  /* it finished every point it was given */
} crashpt_shared;

/* The worker: points k..last in process. Never returns. */
static void crashpt_worker(crashpt_ctx *x, crashpt_shared *sh, uint64_t k,
                           uint64_t last)
{
    crashpt_report *mine = malloc(sizeof(*mine));
    int r = mine ? 0 : -ENOMEM;

    if (mine) {
        *mine = sh->rep;
        x->rep = mine;
    }
    x->isolate = false;
    for (; k <= last && r == 0; k++) {
        sh->next = k;
        r = crashpt_one(x, k);
        if (r == 0) {
            sh->rep = *mine;
            sh->next = k + 1;
        }
    }
    sh->err = r;
    sh->done = 1;
    fflush(NULL);
    _exit(0);
}

/* Fork a worker for k..last and wait for it; 0 when it ended normally
 * (*died false) or died (*died true, sh->next the point it died on). */
static int crashpt_fork(crashpt_ctx *x, crashpt_shared *sh, uint64_t k,
                        uint64_t last, bool *died)
{
    int status = 0;

    sh->rep = *x->rep;
    sh->next = k;
    sh->err = 0;
    sh->done = 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        crashpt_worker(x, sh, k, last);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    crashpt_failure first = x->rep->first_failure;
    *x->rep = sh->rep;
    if (x->rep->failures == 0)
        x->rep->first_failure = first;
    *died = !sh->done;
    return sh->done ? sh->err : 0;
}

int crashpt_loop_forked(crashpt_ctx *x, uint64_t first, uint64_t last)
{
    crashpt_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t k = first;
    int r = 0;

    if (sh == MAP_FAILED)
        return -errno;
    while (k <= last && r == 0) {
        bool died = false;
        r = crashpt_fork(x, sh, k, last, &died);
        if (r < 0 || !died)
            break;
        k = sh->next; /* the point it died on, alone, a child per run */
        x->isolate = true;
        r = crashpt_one(x, k);
        x->isolate = false;
        k++;
    }
    munmap(sh, sizeof(*sh));
    return r;
}
