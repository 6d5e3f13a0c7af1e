/*
 * stats.c — reading and printing the per-worker counters, and a dump of
 * what every worker does (for a pool that seems stuck).
 */
#include "internal.h"

static void read_worker(const tes_worker *w, tes_worker_stats *s)
{
    /* relaxed: statistics; each counter has one writer, its worker, but
     * for thief_count, which thieves add to. */
    uint64_t forks = __atomic_load_n(&w->deque.own.forks, __ATOMIC_RELAXED);
    uint64_t lost = atomic_load_explicit(&w->deque.thief_count,
                                         memory_order_relaxed);
    /* A fork counts as run by its worker unless a thief took it (the
     * thief counts it); a fork not joined yet counts already. */
    s->tasks_run = atomic_load_explicit(&w->n_run, memory_order_relaxed) +
                   (forks > lost ? forks - lost : 0);
    s->spawns =
        atomic_load_explicit(&w->n_spawn, memory_order_relaxed) + forks;
    s->steals = atomic_load_explicit(&w->n_steal, memory_order_relaxed);
    s->failed_steals = atomic_load_explicit(&w->n_failed, memory_order_relaxed);
    s->injected = atomic_load_explicit(&w->n_inject, memory_order_relaxed);
    s->parks = atomic_load_explicit(&w->n_park, memory_order_relaxed);
}

static void add(tes_worker_stats *sum, const tes_worker_stats *s)
{
    sum->tasks_run += s->tasks_run;
    sum->spawns += s->spawns;
    sum->steals += s->steals;
    sum->failed_steals += s->failed_steals;
    sum->injected += s->injected;
    sum->parks += s->parks;
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
        add(&sum, &s);
    }
    if (total)
        *total = sum;
    return p->nworkers;
}

static int print_row(FILE *out, const char *label, int index,
                     const tes_worker_stats *s)
{
    char num[16];
    if (!label) {
        snprintf(num, sizeof num, "%d", index);
        label = num;
    }
    return fprintf(out, "%6s %12llu %12llu %10llu %12llu %10llu %8llu\n",
                   label, (unsigned long long)s->tasks_run,
                   (unsigned long long)s->spawns,
                   (unsigned long long)s->steals,
                   (unsigned long long)s->failed_steals,
                   (unsigned long long)s->injected,
                   (unsigned long long)s->parks);
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
        rc = print_row(out, NULL, i, &s);
        add(&sum, &s);
    }
    if (rc >= 0)
        rc = print_row(out, "total", 0, &sum);
    return rc < 0 ? -EIO : 0;
}

/* What a worker's phase says. */
static const char *phase_name(int phase)
{
    switch (phase) {
    case TES_PHASE_RUNNING: return "running a task";
    case TES_PHASE_PARKED: return "parked";
    case TES_PHASE_GONE: return "stopped";
    default: return "looking for work";
    }
}

int tes_pool_dump(const tes_pool *p, FILE *out)
{
    if (!p || !out)
        return -EINVAL;
    /* relaxed throughout: a snapshot taken without stopping anyone. */
    int rc = fprintf(out,
                     "pool %s: %d workers, %d lend slots (%d lent), "
                     "%lld queued from outside, %d asleep%s\n",
                     p->name, p->nworkers, p->nlend,
                     atomic_load_explicit(&p->lenders, memory_order_relaxed),
                     (long long)atomic_load_explicit(&p->inj_count,
                                                     memory_order_relaxed),
                     atomic_load_explicit(&p->sleepers, memory_order_relaxed),
                     atomic_load_explicit(&p->stopping, memory_order_relaxed)
                         ? ", stopping"
                         : "");
    for (int i = 0; i < p->nworkers + p->nlend && rc >= 0; i++) {
        const tes_worker *w = &p->workers[i];
        bool lend = i >= p->nworkers;
        if (lend && !atomic_load_explicit(&w->lent, memory_order_relaxed))
            continue;
        uint64_t ts = atomic_load_explicit(&((tes_worker *)w)->deque.ts,
                                           memory_order_relaxed);
        uint32_t tail = (uint32_t)ts, split = (uint32_t)(ts >> 32);
        tes_worker_stats s;
        read_worker(w, &s);
        rc = fprintf(out,
                     "  %s %d: %s; %u public in its deque%s%s; %llu tasks "
                     "run, %llu steals, %llu parks\n",
                     lend ? "lent" : "worker", lend ? i - p->nworkers : i,
                     lend ? "lent to the pool"
                          : phase_name(atomic_load_explicit(
                                &w->phase, memory_order_relaxed)),
                     split > tail ? split - tail : 0,
                     atomic_load_explicit(&w->deque.want,
                                          memory_order_relaxed)
                         ? ", thieves asking for more"
                         : "",
                     atomic_load_explicit(&w->held, memory_order_relaxed)
                         ? ", actor turns held"
                         : "",
                     (unsigned long long)s.tasks_run,
                     (unsigned long long)s.steals,
                     (unsigned long long)s.parks);
    }
    return rc < 0 ? -EIO : 0;
}
