/*
 * campaign_feat.c - the campaign's feedback without compiler
 * instrumentation (see campaign.h, "Feedback"): the features of one run,
 * collected through the executor's hooks, and the map of features seen.
 *
 * A feature is a 32-bit hash of a tag and its parts:
 *   FEAT_CMD     (command kind, flags, log2 bucket of the host writes and
 *                flushes completed while it ran);
 *   FEAT_LINE    (running command's kind, an outcome line without its
 *                numbers: "wrote", "read", "write failed: No space ...");
 *   FEAT_EVPAIR  (event, next event) of one request;
 *   FEAT_CMDEV   (running command's kind, event);
 *   FEAT_VERDICT (verdict, command kind where it was found);
 *   FEAT_STEPS, FEAT_HOSTIO, FEAT_REQS: log2 buckets of the trace's
 *                scheduler steps, host I/Os and requests.
 * The map is CAMPAIGN_MAP_BITS bits; a feature is new when its bit is
 * clear. Hash collisions only lose feedback, never correctness.
 *
 * Invariant: collection allocates only its own arrays (freed by
 * campaign_feat_free); a failed allocation drops features (f->oom), it
 * never fails the run.
 */
#include <stdlib.h>
#include <string.h>

#include "campaign_int.h"

enum {
    FEAT_CMD = 1,
    FEAT_LINE,
    FEAT_EVPAIR,
    FEAT_CMDEV,
    FEAT_VERDICT,
    FEAT_STEPS,
    FEAT_HOSTIO,
    FEAT_REQS,
};

static uint32_t feat_hash(uint64_t tag, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = tag * UINT64_C(0x9e3779b97f4a7c15);
    h ^= a + UINT64_C(0xbf58476d1ce4e5b9) + (h << 6) + (h >> 2);
    h ^= b + UINT64_C(0x94d049bb133111eb) + (h << 6) + (h >> 2);
    h ^= c + UINT64_C(0x2545f4914f6cdd1d) + (h << 6) + (h >> 2);
    h ^= h >> 31;
    h *= UINT64_C(0xd6e8feb86659fd93);
    return (uint32_t)(h ^ (h >> 32));
}

static unsigned feat_bucket(uint64_t n)
{
    unsigned b = 0;
    while (n && b < 16) {
        n >>= 1;
        b++;
    }
    return b;
}

static void feat_add(campaign_feat *f, uint32_t h)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        uint32_t *v = realloc(f->v, cap * sizeof(*v));
        if (!v) {
            f->oom = true;
            return;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = h;
}

static int feat_kind(const campaign_feat *f, size_t cmd)
{
    return cmd < f->s->ncmds ? (int)f->s->cmds[cmd].kind : SCRIPT_KIND_COUNT;
}

static unsigned feat_flags(const campaign_feat *f, size_t cmd)
{
    if (cmd >= f->s->ncmds)
        return 0;
    const script_cmd *c = &f->s->cmds[cmd];
    switch (c->kind) {
    case SCRIPT_WRITE:
    case SCRIPT_AIO_WRITE:
    case SCRIPT_READ:
    case SCRIPT_AIO_READ:
    case SCRIPT_DISCARD:
        return c->io.flags & (SCRIPT_F_ZERO | SCRIPT_F_UNMAP | SCRIPT_F_FUA);
    default:
        return 0;
    }
}

/* The command that ran until now is over: its host-I/O feature. */
static void feat_close_cmd(campaign_feat *f)
{
    if (f->cmd == SIZE_MAX - 1)
        return;
    feat_add(f, feat_hash(FEAT_CMD, (uint64_t)feat_kind(f, f->cmd),
                          feat_flags(f, f->cmd), feat_bucket(f->cmd_hostio)));
    f->cmd_hostio = 0;
}

static void feat_progress(void *opaque, size_t cmd)
{
    campaign_feat *f = opaque;
    feat_close_cmd(f);
    f->cmd = cmd;
    if (f->progress_out)
        *f->progress_out = cmd;
}

static void feat_hostio(void *opaque, uint64_t n, size_t cmd)
{
    (void)n;
    (void)cmd;
    ((campaign_feat *)opaque)->cmd_hostio++;
}

/* An outcome line: hash its text up to the first digit. */
static void feat_print(void *opaque, const char *text)
{
    campaign_feat *f = opaque;
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < 80 && text[i] && (text[i] < '0' || text[i] > '9');
         i++)
        h = (h ^ (unsigned char)text[i]) * UINT64_C(1099511628211);
    feat_add(f, feat_hash(FEAT_LINE, (uint64_t)feat_kind(f, f->cmd), h, 0));
}

void campaign_feat_event(campaign_feat *f, uint64_t req, int ev)
{
    if (req >= f->nreq) {
        size_t n = f->nreq ? 2 * f->nreq : 64;
        while (n <= req)
            n *= 2;
        uint64_t *v = realloc(f->req_last, n * sizeof(*v));
        if (!v) {
            f->oom = true;
            return;
        }
        memset(v + f->nreq, 0, (n - f->nreq) * sizeof(*v));
        f->req_last = v;
        f->nreq = n;
    }
    feat_add(f, feat_hash(FEAT_EVPAIR, f->req_last[req], (uint64_t)ev + 1, 0));
    feat_add(f, feat_hash(FEAT_CMDEV, (uint64_t)feat_kind(f, f->cmd),
                          (uint64_t)ev, 0));
    f->req_last[req] = (uint64_t)ev + 1;
}

static void feat_event(void *opaque, uint64_t req, size_t cmd, eng_event ev)
{
    (void)cmd; /* the progress callback keeps f->cmd */
    campaign_feat_event(opaque, req, (int)ev);
}

void campaign_feat_begin(campaign_feat *f, const script *s, exec_opts *opts)
{
    f->s = s;
    f->n = 0;
    f->cmd = SIZE_MAX - 1; /* no command yet */
    f->cmd_hostio = 0;
    f->oom = false;
    if (f->nreq)
        memset(f->req_last, 0, f->nreq * sizeof(*f->req_last));
    opts->print = feat_print;
    opts->print_opaque = f;
    opts->progress = feat_progress;
    opts->progress_opaque = f;
    opts->hostio = feat_hostio;
    opts->hostio_opaque = f;
    opts->event = feat_event;
    opts->event_opaque = f;
    opts->no_hashes = true; /* a campaign judges verdicts, not bytes */
}

void campaign_feat_end(campaign_feat *f, const exec_result *r)
{
    feat_close_cmd(f);
    f->cmd = SIZE_MAX - 1;
    int kind = r->cmd < f->s->ncmds ? (int)f->s->cmds[r->cmd].kind : -1;
    feat_add(f,
             feat_hash(FEAT_VERDICT, r->verdict, (uint64_t)(int64_t)kind, 0));
    feat_add(f, feat_hash(FEAT_STEPS, feat_bucket(r->steps), 0, 0));
    feat_add(f, feat_hash(FEAT_HOSTIO, feat_bucket(r->host_ios), 0, 0));
    feat_add(f, feat_hash(FEAT_REQS, feat_bucket(r->requests), 0, 0));
    for (size_t i = 1; i < r->ntrail; i++) /* the request at fault */
        feat_add(f, feat_hash(FEAT_EVPAIR, (uint64_t)r->trail[i - 1] + 1,
                              (uint64_t)r->trail[i] + 1, 0));
}

size_t campaign_feat_merge(const campaign_feat *f, uint8_t *map, bool set)
{
    size_t fresh = 0;
    for (size_t i = 0; i < f->n; i++) {
        uint32_t bit = f->v[i] & (CAMPAIGN_MAP_BITS - 1);
        uint8_t m = (uint8_t)(1u << (bit & 7));
        if (map[bit >> 3] & m)
            continue;
        fresh++;
        if (set)
            map[bit >> 3] |= m;
    }
    return fresh;
}

void campaign_feat_free(campaign_feat *f)
{
    free(f->v);
    free(f->req_last);
    memset(f, 0, sizeof(*f));
}
