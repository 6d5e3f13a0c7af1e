/*
 * fork.h — private: what the pool needs of fork.c beyond the public
 * tes_fork/tes_join.
 */
#ifndef TES_FORK_H
#define TES_FORK_H

#include "internal.h"

/* Frees the failure messages of the forked tasks w's thread joined; called
 * when no task runs on it (their frames are gone), and at the end. */
void tes__fork_msgs_free(tes_worker *w);

#endif
