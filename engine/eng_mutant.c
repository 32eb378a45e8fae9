/*
 * eng_mutant.c - the table of the zoo's mutants (see eng_mutant.h and
 * shared/ZOO.md): name, origin and mechanism of each historical bug that
 * the engine can switch back on. The switches themselves live at the code
 * points where the bugs lived (grep for ENG_MUT_).
 *
 * Invariant: one entry per ENG_MUTANTS() row, in enum order.
 */
#include <string.h>

#include "eng_mutant.h"

static const eng_mutant_info mutants[ENG_MUT_COUNT] = {
    [ENG_MUT_AVAIL_SECTORS] = {
        "avail_sectors",
        "QEMU 1.1, fixed by commit b7ab0fea (\"qcow2: Fix avail_sectors in "
        "cluster allocation code\", 2012)",
        "when a write keeps allocated clusters and allocates new ones after "
        "them, the bytes available in the new allocation also count the kept "
        "clusters, so the write and its tail copy-on-write run past the new "
        "clusters and the guest clusters beyond are never mapped",
    },
    [ENG_MUT_ALLOC_NO_SERIALIZE] = {
        "alloc_no_serialize",
        "QEMU before commit f214978a427e (\"Order concurrent AIO requests on "
        "the same unallocated cluster\", 2009)",
        "no list of in-flight allocations: two writes in flight into one "
        "unallocated cluster each allocate a host cluster and the later L2 "
        "update drops the other write's data",
    },
};

const eng_mutant_info *eng_mutant_get(eng_mutant m)
{
    if ((unsigned)m >= ENG_MUT_COUNT)
        return NULL;
    return &mutants[m];
}

int eng_mutant_by_name(const char *name)
{
    for (int i = 0; i < ENG_MUT_COUNT; i++)
        if (strcmp(mutants[i].name, name) == 0)
            return i;
    return -1;
}
