/*
 * signature.c - finding signatures (see signature.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "signature.h"

void signature_of(const script *s, const exec_result *r, signature *out)
{
    const char *cmd = "end";
    if (r->cmd < s->ncmds)
        cmd = script_kind_name(s->cmds[r->cmd].kind);
    const char *where = "-";
    if (r->ntrail > 0)
        where = eng_event_name(r->trail[r->ntrail - 1]);
    snprintf(out->text, sizeof(out->text), "%s/%s/%s",
             script_verdict_name(r->verdict), cmd, where);
    out->hash = XXH3_64bits(out->text, strlen(out->text));
}

void signature_hex(const signature *sig, char out[17])
{
    snprintf(out, 17, "%016" PRIx64, sig->hash);
}
