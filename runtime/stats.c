/*
 * stats.c — reading and printing the per-worker counters.
 */
#include "internal.h"

static void read_worker(const tes_worker *w, tes_worker_stats *s)
{
    /* relaxed: statistics; each counter has one writer, its worker. */
    s->tasks_run = atomic_load_explicit(&w->n_run, memory_order_relaxed);
    s->spawns = atomic_load_explicit(&w->n_spawn, memory_order_relaxed);
    s->steals = atomic_load_explicit(&w->n_steal, memory_order_relaxed);
    s->failed_steals = atomic_load_explicit(&w->n_failed, memory_order_relaxed);
    s->injected = atomic_load_explicit(&w->n_inject, memory_order_relaxed);
    s->parks = atomic_load_explicit(&w->n_park, memory_order_relaxed);
}

int tes_pool_stats(const tes_pool *p, tes_worker_stats *total,
                   tes_worker_stats *workers, size_t n)
{
    if (!p)
        return -EINVAL;
    tes_worker_stats sum = {0};
    for (int i = 0; i < p->nworkers + p->nlend; i++) {
        tes_worker_stats s;
        read_worker(&p->workers[i], &s);
        if (workers && (size_t)i < n)
            workers[i] = s;
        sum.tasks_run += s.tasks_run;
        sum.spawns += s.spawns;
        sum.steals += s.steals;
        sum.failed_steals += s.failed_steals;
        sum.injected += s.injected;
        sum.parks += s.parks;
    }
    if (total)
        *total = sum;
    return p->nworkers;
}

int tes_pool_stats_print(const tes_pool *p, FILE *out)
{
    if (!p || !out)
        return -EINVAL;
    int rc = fprintf(out, "pool %s: %d workers\n%6s %12s %12s %10s %12s %10s %8s\n",
                     p->name, p->nworkers, "worker", "tasks", "spawns",
                     "steals", "failed", "injected", "parks");
    tes_worker_stats sum = {0};
    for (int i = 0; i < p->nworkers && rc >= 0; i++) {
        tes_worker_stats s;
        read_worker(&p->workers[i], &s);
        rc = fprintf(out, "%6d %12llu %12llu %10llu %12llu %10llu %8llu\n", i,
                     (unsigned long long)s.tasks_run,
                     (unsigned long long)s.spawns,
                     (unsigned long long)s.steals,
                     (unsigned long long)s.failed_steals,
                     (unsigned long long)s.injected,
                     (unsigned long long)s.parks);
        sum.tasks_run += s.tasks_run;
        sum.spawns += s.spawns;
        sum.steals += s.steals;
        sum.failed_steals += s.failed_steals;
        sum.injected += s.injected;
        sum.parks += s.parks;
    }
    if (rc >= 0)
        rc = fprintf(out, "%6s %12llu %12llu %10llu %12llu %10llu %8llu\n",
                     "total", (unsigned long long)sum.tasks_run,
                     (unsigned long long)sum.spawns,
                     (unsigned long long)sum.steals,
                     (unsigned long long)sum.failed_steals,
                     (unsigned long long)sum.injected,
                     (unsigned long long)sum.parks);
    return rc < 0 ? -EIO : 0;
}
