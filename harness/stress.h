/*
 * stress.h - one self-contained stress run: build in-memory images from a
 * seed (cluster size, version, backing file or not), open them through the
 * engine, run a concurrent request mix checked against a flat reference,
 * close, check the metadata with the independent checker, reopen and
 * verify every byte again.
 *
 * Deterministic: the run seed decides everything (configuration, requests,
 * interleaving), so `stress_run(seed)` repeats a failure exactly. This is the
 * interim campaign behind `make fuzz` until the trace fuzzer lands.
 */
#ifndef COWPOKE_STRESS_H
#define COWPOKE_STRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct stress_config {
    uint64_t size;
    unsigned cluster_bits, version;
    bool backing;         /* a qcow2 backing file with data below */
    unsigned l2_cache;    /* L2 cache tables */
    unsigned ops, batch;
} stress_config;

typedef struct stress_result {
    stress_config cfg;
    bool failed;
    uint64_t requests;
    char what[512];       /* the failure, for a person */
} stress_result;

/* The configuration a seed picks. */
void stress_pick(uint64_t seed, stress_config *cfg);

/* Run one seed with these mutants; fills r. Returns 0 when it ran (pass or
 * fail: see r->failed), -ENOMEM when it could not. */
int stress_run(uint64_t seed, uint64_t mutants, stress_result *r);

#endif
