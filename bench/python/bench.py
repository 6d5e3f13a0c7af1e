"""tessera from Python against the Python peers (issue 11), run by
bench/python/run.sh.

Two jobs on N^2 float32 deflate DEMs (synthetic, kept in the bench folder
between runs): a Horn hillshade of one, and (A - B) / (A + B + 1) of two.
Each variant is one process (examples/python/tiles_three_ways.py --only
NAME), so that its peak memory is its own; the variants run round-robin,
ROUNDS rounds, so that all see the same background load, and a row gives
the median time with its min-max and the largest peak memory:

    raster-tool      the command (process wall time)
    tessera-kernel   tessera.hillshade / tessera.calc (time in the call)
    tessera          tessera.map_tiles with the peers' numpy function
    numpy            rasterio + numpy, one thread
    threads          rasterio block windows + ThreadPoolExecutor
    processes        multiprocessing.Pool over row strips
    numba            numba prange (compile included), when installed

Process CPU s is the user + system time of the process and its children:
less disturbed by other load than the times. Peak memory is the larger
of the process's own peak RSS (ru_maxrss) and the sum of the RSS of it
and its children sampled every 20 ms, which is what a multiprocessing
pool costs. Then map_tiles at 1 and 2 threads, with
the CPU time it used, to show that the workers run the numpy function in
parallel. Ratios are against the fastest peer and against raster-tool;
the targets of issue 11 are checked at the end.
"""

import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXAMPLE = os.path.join(ROOT, "examples", "python", "tiles_three_ways.py")
PEERS = ("numpy", "threads", "processes", "numba")


def tree_rss_kb(pid):
    """RSS of pid and its descendants, KB (Linux /proc)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf(
                    "SC_PAGE_SIZE") // 1024
        except OSError:
            pass
        todo.extend(kids.get(p, []))
    return total


def measure(cmd, env):
    """Runs cmd; returns (wall s, stdout, peak MB, cpu s)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], tree_rss_kb(p.pid))

    th = threading.Thread(target=sample)
    th.start()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    done.set()
    th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench/python: {' '.join(cmd)} failed:\n{err}")
    mb = max(peak[0], ru.ru_maxrss) / 1024
    return wall, out, mb, ru.ru_utime + ru.ru_stime


def main():
    build = os.environ.get("TES_BUILD", "build")
    n = int(os.environ.get("TES_BENCH_N", "8192"))
    rounds = int(os.environ.get("TES_BENCH_ROUNDS", "3"))
    threads = int(os.environ.get("TES_BENCH_THREADS", "2"))
    skip = set(os.environ.get("TES_BENCH_SKIP", "").split())
    tool = os.path.join(build, "raster-tool")
    folder = os.path.join(build, "bench-python")
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(
        os.path.join(build, "python")))
    py = sys.executable

    dems = []
    for k in range(2):
        p = os.path.join(folder, f"dem{k}_{n}.tif")
        if not os.path.exists(p):
            print(f"making {p} ...", flush=True)
            subprocess.run([tool, "synth", "--quiet", "--size", f"{n}x{n}",
                            "--seed", str(7 + k), p], check=True)
        dems.append(p)
    out = os.path.join(folder, "out.tif")

    load0 = os.getloadavg()
    with open("/proc/cpuinfo") as f:
        model = [ln.split(":", 1)[1].strip() for ln in f
                 if ln.startswith("model name")][:1] or ["?"]
    print(f"machine: {os.cpu_count()} CPUs, {model[0]}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"python {sys.version.split()[0]}; {threads} threads; "
          f"median of {rounds} interleaved rounds")
    results = {}
    for job in ("hillshade", "calc"):
        srcs = dems[:1] if job == "hillshade" else dems
        variants = {"raster-tool": (
            [tool, "hillshade", "--quiet", "--overwrite", "-j", str(threads),
             srcs[0], out] if job == "hillshade" else
            [tool, "calc", "--quiet", "--overwrite", "-j", str(threads),
             "-A", srcs[0], "-B", srcs[1], "--expr", "(A - B) / (A + B + 1)",
             out])}
        for v in ("tessera-kernel", "tessera") + PEERS:
            if v in skip:
                continue
            variants[v] = [py, EXAMPLE, "--only", v, "--job", job,
                           "--threads", str(threads), "--out", out,
                           "--dem", *srcs]
        runs = {v: [] for v in variants}
        skipped = {}
        for _ in range(rounds):
            for v, cmd in variants.items():
                if v in skipped:
                    continue
                if os.path.exists(out):
                    os.unlink(out)
                wall, text, mb, cpu = measure(cmd, env)
                if text.startswith("skipped"):
                    skipped[v] = text.strip()
                    continue
                t = wall if v == "raster-tool" else float(text.split()[-1])
                runs[v].append((t, mb, wall, cpu))
        results[job] = {v: r for v, r in runs.items() if r}
        print(f"\n### {job} of {n}² float32 deflate DEM(s)\n")
        print("| variant | median s | min-max s | process wall s | "
              "process CPU s | peak memory MB | vs fastest peer | "
              "vs raster-tool |")
        print("|---|---|---|---|---|---|---|---|")
        med = {v: statistics.median(x[0] for x in r)
               for v, r in results[job].items()}
        peers = [v for v in PEERS if v in med]
        best = min(peers, key=med.get) if peers else None
        for v, r in results[job].items():
            ts = [x[0] for x in r]
            vs_peer = f"{med[best] / med[v]:.2f}x" if best else "-"
            vs_rt = f"{med[v] / med['raster-tool']:.3f}"
            print(f"| {v} | {med[v]:.3f} | {min(ts):.3f}-{max(ts):.3f} | "
                  f"{statistics.median(x[2] for x in r):.3f} | "
                  f"{statistics.median(x[3] for x in r):.2f} | "
                  f"{max(x[1] for x in r):.0f} | {vs_peer} | {vs_rt} |")
        for v, why in skipped.items():
            print(f"\n{v}: {why}")
        for v in sorted(skip & set(PEERS)):
            print(f"\n{v}: not run (TES_BENCH_SKIP)")
        results[job]["_best"] = best
        results[job]["_med"] = med

    # map_tiles at 1 and 2 threads: do the workers run fn at once?
    print("\n### map_tiles scaling (hillshade, the numpy function)\n")
    print("| threads | median s | CPU s | CPU / wall |")
    print("|---|---|---|---|")
    scale = {}
    for th in (1, threads):
        rs = []
        for _ in range(rounds):
            if os.path.exists(out):
                os.unlink(out)
            wall, text, mb, cpu = measure(
                [py, EXAMPLE, "--only", "tessera", "--job", "hillshade",
                 "--threads", str(th), "--out", out, "--dem", dems[0]], env)
            rs.append((float(text.split()[-1]), cpu, wall))
        t = statistics.median(r[0] for r in rs)
        c = statistics.median(r[1] for r in rs)
        w = statistics.median(r[2] for r in rs)
        scale[th] = t
        print(f"| {th} | {t:.3f} | {c:.2f} | {c / w:.2f} |")
    print(f"\nmap_tiles {threads} threads vs 1: "
          f"{scale[1] / scale[threads]:.2f}x")

    print("\n### Targets (issue 11): median of the rounds (best round)\n")

    def ratio(job, a, b, key=0, agg=min):
        """b's time over a's, from medians and from each's best round."""
        r = results[job]
        m = results[job]["_med"][b] / results[job]["_med"][a]
        best = agg(x[key] for x in r[b]) / agg(x[key] for x in r[a])
        return m, best

    for job in ("hillshade", "calc"):
        best = results[job]["_best"]
        r = results[job]
        k, kb = ratio(job, "raster-tool", "tessera-kernel")
        print(f"- tessera.{job} / raster-tool: {k:.3f} ({kb:.3f}) "
              f"(target <= 1.1): {'met' if k <= 1.1 else 'MISSED'}")
        if best:
            s, sb = ratio(job, "tessera-kernel", best)
            print(f"- tessera.{job} vs the fastest peer ({best}): {s:.2f}x "
                  f"({sb:.2f}x) (target >= 3): "
                  f"{'met' if s >= 3 else 'MISSED'}")
            m, mb = ratio(job, "tessera", best)
            mem = max(x[1] for x in r["tessera"]) / \
                max(x[1] for x in r[best])
            print(f"- map_tiles ({job}) vs the fastest peer ({best}): "
                  f"{m:.2f}x ({mb:.2f}x) (target >= 1.5): "
                  f"{'met' if m >= 1.5 else 'MISSED'}; peak memory "
                  f"{mem:.2f} of the peer's (target <= 0.25): "
                  f"{'met' if mem <= 0.25 else 'MISSED'}")
    load1 = os.getloadavg()
    print(f"\nload average after {load1[0]:.2f} {load1[1]:.2f} "
          f"{load1[2]:.2f}")
    os.path.exists(out) and os.unlink(out)


if __name__ == "__main__":
    main()
