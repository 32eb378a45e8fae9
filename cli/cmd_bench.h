/*
 * cmd_bench.h - the phases of `cowpoke bench`, one function each.
 *
 * Each phase prints its own lines and never fails the command: a phase that
 * cannot run says so on its line.
 */
#ifndef COWPOKE_CMD_BENCH_H
#define COWPOKE_CMD_BENCH_H

/* Three fixed sets of 1,000 traces through the in-process executor, each
 * with its data floor; then the first set's first 20 traces through
 * qemu-img create + qemu-io; the ratio per trace. */
void bench_traces(void);

/* `replay --crash-points` on a seeded 50-command trace, in process and with
 * a child process per run. */
void bench_crash_points(void);

#endif
