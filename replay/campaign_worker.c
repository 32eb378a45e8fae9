/*
 * campaign_worker.c - one job's worker process (see campaign.h): it loops
 * over inputs until the supervisor sets `stop` or the job reaches its
 * bound, and never returns.
 *
 * The loop: (on resume) re-run the queue to rebuild the feature map; run
 * every seed once, keeping each in the queue; then forever pick a queue
 * entry (half the time uniformly, half the time among the 32 newest),
 * mutate it (splicing with another entry now and then), write it to .cur,
 * decode and run it, and keep it when it shows a new feature. A finding
 * is recorded on disk (campaign_record) before the next input runs, and
 * the supervisor is told so it can shrink it.
 *
 * Invariants: every decision reads and advances state in the shared
 * mapping (the generator, the counters, the seed and rebuild positions),
 * and each position is advanced BEFORE its execution, so a worker that
 * dies mid-execution is replaced by one that goes on with the next input,
 * not the same one. The queue in memory equals the queue on disk in id
 * order (an entry is written before it counts).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "campaign_int.h"

#define WORKER_NEWEST 32 /* entries the "recent" half of picks draws from */

typedef struct worker {
    const campaign_ctx *c;
    campaign_job *j;
    campaign_shm *m;
    campaign_inputs queue;
    campaign_index ix;
    campaign_index ix_other; /* DIR/other (attribute_mutants) */
    campaign_feat feat;
    exec_result *r;
    exec_result *r2; /* attribute_mutants: the run without them */
    int cur_fd;
    uint8_t buf[CAMPAIGN_MAX_LEN];
} worker;

static void worker_die(int code) __attribute__((noreturn));
static void worker_die(int code)
{
    _exit(code);
}

static void worker_setup(worker *w, pid_t parent)
{
    char path[CAMPAIGN_PATH_MAX];

    signal(SIGINT, SIG_IGN); /* the supervisor decides when to stop */
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        worker_die(0);
    if (campaign_path(path, "%s/.stderr", w->j->dir)) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
    }
    if (!campaign_path(path, "%s/.cur", w->j->dir) ||
        (w->cur_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
        worker_die(3);
    uint64_t next = w->m->next_id;
    w->r = malloc(sizeof(*w->r));
    w->r2 = malloc(sizeof(*w->r2));
    if (!w->r || !w->r2 || campaign_queue_load(w->j, &w->queue, &next) < 0 ||
        campaign_index_load(&w->ix, w->c->o->dir) < 0)
        worker_die(3);
    w->m->next_id = next;
    w->m->queue = w->queue.n;
}

/* The input about to run goes to .cur, whole, before it runs. */
static void worker_cur(worker *w, const uint8_t *data, size_t len)
{
    if (pwrite(w->cur_fd, data, len, 0) != (ssize_t)len ||
        ftruncate(w->cur_fd, (off_t)len) < 0)
        worker_die(3);
}

static void worker_note(worker *w, const signature *sig, bool first)
{
    campaign_note note = {.job = (uint8_t)w->j->index, .first = first};
    signature_hex(sig, note.hex);
    while (write(w->c->notify_fd, &note, sizeof(note)) < 0 && errno == EINTR)
        ;
}

/* attribute_mutants: does s fail the same way without the mutants? */
static bool worker_without_mutants(worker *w, const script *s,
                                   const signature *sig)
{
    exec_opts eo = w->c->o->exec;
    signature again;
    eo.mutants = 0;
    w->m->in_exec = 1;
    exec_run(s, &eo, w->r2);
    w->m->in_exec = 0;
    signature_of(s, w->r2, &again);
    return campaign_is_finding(s, w->r2) && again.hash == sig->hash;
}

/* A finding that fails without the mutants too: kept apart, in
 * DIR/other/, without mutant lines (the correct engine fails it). */
static void worker_other(worker *w, const script *s, const signature *sig,
                         uint64_t exec_no)
{
    char top[CAMPAIGN_PATH_MAX];
    bool wrote;
    campaign_origin from = {w->j->index, w->j->seed, exec_no, top, 0};

    w->m->unattributed++;
    if (!campaign_path(top, "%s/other", w->c->o->dir) ||
        campaign_mkdirs(top) < 0 ||
        campaign_record(w->c, s, w->r2, sig, &from, &w->ix_other, &wrote) < 0)
        worker_die(3);
}

static void worker_finding(worker *w, const script *s, uint64_t exec_no)
{
    campaign_shm *m = w->m;
    signature sig;
    bool wrote = false;

    signature_of(s, w->r, &sig);
    if (w->c->o->attribute_mutants && w->c->o->exec.mutants &&
        worker_without_mutants(w, s, &sig)) {
        worker_other(w, s, &sig, exec_no);
        return;
    }
    m->finding_execs++;
    m->last_find_exec = exec_no;
    bool first = m->first_exec == 0;
    if (first) {
        m->first_exec = exec_no;
        m->first_sig = sig;
    }
    campaign_origin from = {w->j->index, w->j->seed, exec_no, w->c->o->dir,
                            w->c->o->exec.mutants};
    if (campaign_record(w->c, s, w->r, &sig, &from, &w->ix, &wrote) < 0)
        worker_die(3);
    if (wrote || first)
        worker_note(w, &sig, first);
}

/* Keep data in the queue (disk first, then memory and counters). */
static void worker_keep(worker *w, const uint8_t *data, size_t len,
                        const char *orig)
{
    uint64_t id = w->m->next_id;
    if (campaign_queue_add(w->j, id, data, len, orig) < 0 ||
        campaign_inputs_add(&w->queue, data, len, orig) < 0)
        worker_die(3);
    w->m->next_id = id + 1;
    w->m->queue++;
}

/* Write data to .cur, decode it and run it as execution exec_no (0: not
 * counted), collecting its features in w->feat and its result in w->r.
 * Returns the script (the caller frees it). */
static script *worker_exec(worker *w, const uint8_t *data, size_t len,
                           uint64_t exec_no)
{
    campaign_shm *m = w->m;
    script *s = NULL;
    exec_opts eo = w->c->o->exec;

    worker_cur(w, data, len);
    if (campaign_decode(data, len, &s) < 0)
        worker_die(3);
    campaign_feat_begin(&w->feat, s, &eo);
    w->feat.progress_out = &m->cur_cmd;
    m->cur_cmd = SIZE_MAX;
    m->exec_no = exec_no;
    m->run_seq++;
    m->in_exec = 1;
    exec_run(s, &eo, w->r);
    m->in_exec = 0;
    campaign_feat_end(&w->feat, w->r);
    return s;
}

/* Run one input of the campaign (keep: always keep it, a seed). A finding
 * is recorded; another run with a new feature is kept. */
static void worker_run(worker *w, const uint8_t *data, size_t len, bool keep,
                       const char *orig)
{
    campaign_shm *m = w->m;
    uint64_t exec_no = m->execs + 1;
    script *s = worker_exec(w, data, len, exec_no);

    m->execs = exec_no;
    if (campaign_is_finding(s, w->r)) {
        worker_finding(w, s, exec_no);
    } else {
        if (w->r->verdict == SCRIPT_V_DEADLOCK)
            m->filtered++;
        size_t fresh = campaign_feat_merge(&w->feat, m->map, true);
        m->features += fresh;
        if (fresh || keep)
            worker_keep(w, data, len, orig);
    }
    script_free(s);
}

/* Resume: re-run the queue (not counted) so the map knows its features. */
static void worker_rebuild(worker *w)
{
    campaign_shm *m = w->m;
    while (!m->stop && m->rebuild_pos < w->queue.n) {
        const campaign_input *in = &w->queue.v[m->rebuild_pos++];
        script *s = worker_exec(w, in->data, in->len, 0);
        if (!campaign_is_finding(s, w->r))
            m->features += campaign_feat_merge(&w->feat, m->map, true);
        script_free(s);
    }
    if (!m->stop)
        m->map_ready = true;
}

/* The next mutant into w->buf; its length. */
static size_t worker_mutant(worker *w)
{
    campaign_shm *m = w->m;
    size_t n = w->queue.n;
    if (n == 0) {
        size_t len = 1 + (size_t)prng_below(&m->rng, 64);
        for (size_t i = 0; i < len; i++)
            w->buf[i] = (uint8_t)prng_next(&m->rng);
        return len;
    }
    size_t recent = n < WORKER_NEWEST ? n : WORKER_NEWEST;
    size_t pick = prng_chance(&m->rng, 1, 2)
                      ? (size_t)prng_below(&m->rng, n)
                      : n - 1 - (size_t)prng_below(&m->rng, recent);
    const campaign_input *in = &w->queue.v[pick];
    const campaign_input *other = &w->queue.v[prng_below(&m->rng, n)];
    return campaign_mutate(&m->rng, in->data, in->len, other->data, other->len,
                           w->c->dict, w->buf, sizeof(w->buf));
}

void campaign_worker_main(const campaign_ctx *c, campaign_job *j)
{
    worker w = {.c = c, .j = j, .m = j->shm, .cur_fd = -1};
    campaign_shm *m = j->shm;
    const campaign_opts *o = c->o;

    worker_setup(&w, c->parent);
    if (!m->map_ready)
        worker_rebuild(&w);
    while (!m->stop) {
        if ((o->stop_on_finding && m->first_exec) ||
            (o->runs && m->execs >= o->runs))
            break;
        if (m->seeds_done < c->seeds->n) {
            const campaign_input *in = &c->seeds->v[m->seeds_done++];
            worker_run(&w, in->data, in->len, true, in->name);
            continue;
        }
        size_t len = worker_mutant(&w);
        worker_run(&w, w.buf, len, false, NULL);
    }
    m->done = !m->stop;
    worker_die(0);
}
