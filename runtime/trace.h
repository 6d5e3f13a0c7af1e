/*
 * trace.h — private: the per-worker event trace (trace.c), written as
 * Chrome trace-event JSON when the pool is destroyed.
 */
#ifndef TES_TRACE_H
#define TES_TRACE_H

#include "internal.h"

enum { TES_EV_BEGIN, TES_EV_END, TES_EV_STEAL, TES_EV_PARK, TES_EV_UNPARK };

/* Records an event in w's buffer (w->trace is not NULL); only w's thread. */
void tes__trace_event(tes_worker *w, int kind, const char *name, int arg);
/* Gives every slot of p a buffer. 0 or -ENOMEM. */
int tes__trace_init(tes_pool *p);
/* Writes p's trace file (when it has a path) and frees the buffers. */
void tes__trace_finish(tes_pool *p);

#endif
