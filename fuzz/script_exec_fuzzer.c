/*
 * script_exec_fuzzer.c - libFuzzer target: arbitrary bytes as a .io
 * script; when they parse, the executor runs them.
 *
 * What it demands: no crash, no leak, no hang, whatever the script says.
 * Verdicts are not crashes: a script that finds a data mismatch, a
 * deadlock or a script error simply returns (the campaign runner, not this
 * target, hunts verdicts). Bounds keep one input cheap: a small step
 * budget, images of at most 64 MiB, requests of at most 1 MiB, no files
 * from disk (`image open` is a script error here).
 *
 * Everything an input builds is freed before the call returns (the
 * executor owns and frees its whole run), so LeakSanitizer sees a clean
 * state after every input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "exec.h"
#include "script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    script *s = NULL;
    script_error err;

    if (script_parse("fuzz.io", (const char *)data, size, &s, &err) < 0)
        return 0;
    exec_result *r = malloc(sizeof(*r));
    if (r) {
        exec_opts o = {
            .budget = 20000,
            .max_image_size = UINT64_C(64) << 20,
            .max_io = UINT64_C(1) << 20,
            .no_files = true,
        };
        (void)exec_run(s, &o, r);
        free(r);
    }
    script_free(s);
    return 0;
}
