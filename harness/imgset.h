/*
 * imgset.h - the images of one run: named in-memory images and real files,
 * and the resolution of backing file names for the engine.
 *
 * An imgset owns every host backend it opened or created and the names; the
 * scheduler owns the eng_files made over them. A name resolves first to an
 * in-memory image of that name, then to a file: absolute, or relative to
 * the set's directory (the directory of the top image, as QEMU resolves
 * relative backing names). A file is opened once; later lookups share it.
 */
#ifndef COWPOKE_IMGSET_H
#define COWPOKE_IMGSET_H

#include <stdbool.h>

#include "eng.h"
#include "host.h"
#include "sched.h"

typedef struct imgset imgset;

/* dir: where relative file names resolve; NULL: the current directory. */
imgset *imgset_create(sched *s, const char *dir);
void imgset_destroy(imgset *set);

/* A new empty in-memory image called name (replacing none: -EEXIST). */
int imgset_add_memory(imgset *set, const char *name, host_backend **out);

/* Open a real file (or return the one already open under that path).
 * create: O_CREAT|O_TRUNC; writable: O_RDWR, else O_RDONLY. */
int imgset_open_file(imgset *set, const char *path, bool create, bool writable,
                     host_backend **out);

/* The image of that name or path, or NULL. */
host_backend *imgset_find(const imgset *set, const char *name);

/* The scheduler's asynchronous eng_file over b (made once per backend). */
eng_file *imgset_file(imgset *set, host_backend *b);

/* Point o's backing callbacks at this set. */
void imgset_open_opts(imgset *set, eng_open_opts *o);

#endif
