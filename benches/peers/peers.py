#!/usr/bin/env python3
"""Traversal throughput, side by side (SPEC §8, issue "sixth"): Quiver (embedded and through
its TCP server), a plain in-memory CSR in Rust (the limit), Kuzu, LadybugDB and DuckDB, on the
same Graph500 R-MAT graph from the same 100 seeds.

    python3 benches/peers/peers.py                 # scale 16
    python3 benches/peers/peers.py --scale 20      # 1,048,576 vertices, about 16 M edges
    python3 benches/peers/peers.py --runs 3 --threads 2

It makes its own virtual environment (target/peers-venv) with kuzu==0.11.3, ladybug==0.22.0 and
duckdb, writes the graph with `cargo bench --bench rmat_csv`, runs Quiver's side with
`cargo bench --bench peer_quiver`, runs each peer in a process of its own (so its peak RSS is
its own), checks that every system gives the same count for every seed and class, and prints
one table (also written to target/peers-<scale>.json). Each class is run `--runs` times over
the 100 seeds; the median total is reported.
"""
import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = ROOT / "target" / "peers-venv"
PACKAGES = ["kuzu==0.11.3", "ladybug==0.22.0", "duckdb"]
CLASSES = [("path1", 1, False), ("path2", 2, False), ("path3", 3, False), ("reach2", 2, True), ("reach3", 3, True)]


def venv_python():
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import kuzu, ladybug, duckdb"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def du(path):
    """Bytes allocated on disk (what `du` counts)."""
    path = pathlib.Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_blocks * 512 for p in files)


# ---- the peers, each run in a worker process ------------------------------------------------

def cypher_queries():
    hops = lambda n: "".join("-[:knows]->()" for _ in range(n - 1)) + "-[:knows]->(b)"
    return {
        "path1": "MATCH (a:Person {key: $k})" + hops(1) + " RETURN count(*)",
        "path2": "MATCH (a:Person {key: $k})" + hops(2) + " RETURN count(*)",
        "path3": "MATCH (a:Person {key: $k})" + hops(3) + " RETURN count(*)",
        # The shortest-path form (plain variable-length reach did not finish at scale 20). It
        # never counts the start node, which SPEC §8 counts when a cycle reaches it: the
        # OPTIONAL MATCH adds it then.
        "reach2": "MATCH (a:Person {key: $k})-[:knows* SHORTEST 1..2]->(b) WITH a, count(DISTINCT b) AS n "
                  "OPTIONAL MATCH (a)-[:knows]->(x)-[:knows]->(a) "
                  "WITH n, count(x) AS cycles RETURN n + CASE WHEN cycles > 0 THEN 1 ELSE 0 END",
        "reach3": "MATCH (a:Person {key: $k})-[:knows* SHORTEST 1..3]->(b) WITH a, count(DISTINCT b) AS n "
                  "OPTIONAL MATCH (a)-[:knows* SHORTEST 1..2]->(x)-[:knows]->(a) "
                  "WITH n, count(x) AS cycles RETURN n + CASE WHEN cycles > 0 THEN 1 ELSE 0 END",
    }


def run_cypher(module, phase, graph, db_path, seeds, runs, threads):
    import warnings
    # Prepared once, run per seed: the fastest way these bindings offer (they now warn about it).
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    m = __import__(module)
    db = m.Database(str(db_path))
    conn = m.Connection(db, num_threads=threads)
    if phase == "load":
        started = time.perf_counter()
        conn.execute("CREATE NODE TABLE Person(key INT64, PRIMARY KEY(key))")
        conn.execute("CREATE REL TABLE knows(FROM Person TO Person)")
        conn.execute(f"COPY Person FROM '{graph / 'nodes.csv'}' (HEADER=true)")
        conn.execute(f"COPY knows FROM '{graph / 'edges.csv'}' (HEADER=true)")
        load = time.perf_counter() - started
        del conn, db
        return {"version": m.__version__, "load_seconds": load}
    results = {}
    for name, query in cypher_queries().items():
        prepared = conn.prepare(query)
        times, counts = [], None
        for run in range(runs):
            t = time.perf_counter()
            got = []
            for s in seeds:
                r = conn.execute(prepared, {"k": s})
                got.append(int(r.get_next()[0]))
            times.append(time.perf_counter() - t)
            counts = counts or got
        results[name] = {"seconds": statistics.median(times), "counts": counts}
    return {"version": m.__version__, "classes": results}


def run_duckdb(phase, graph, db_path, seeds, runs, threads):
    import duckdb
    con = duckdb.connect(str(db_path))
    con.execute(f"SET threads = {threads}")
    if phase == "load":
        started = time.perf_counter()
        con.execute(f"CREATE TABLE person AS SELECT key FROM read_csv('{graph / 'nodes.csv'}', header = true)")
        con.execute(
            f"CREATE TABLE knows AS SELECT * FROM read_csv('{graph / 'edges.csv'}', header = true, "
            "columns = {'src': 'BIGINT', 'dst': 'BIGINT'})"
        )
        con.execute("CHECKPOINT")
        load = time.perf_counter() - started
        con.close()
        return {"version": duckdb.__version__, "load_seconds": load}
    level = lambda prev: f"SELECT DISTINCT k.dst FROM knows k JOIN {prev} p ON k.src = p.dst"
    queries = {
        "path1": "SELECT count(*) FROM knows WHERE src = $k",
        "path2": "SELECT count(*) FROM knows e1 JOIN knows e2 ON e2.src = e1.dst WHERE e1.src = $k",
        "path3": "SELECT count(*) FROM knows e1 JOIN knows e2 ON e2.src = e1.dst JOIN knows e3 ON e3.src = e2.dst WHERE e1.src = $k",
        "reach2": f"WITH l1 AS (SELECT DISTINCT dst FROM knows WHERE src = $k), l2 AS ({level('l1')}) "
                  "SELECT count(*) FROM (SELECT dst FROM l1 UNION SELECT dst FROM l2)",
        "reach3": f"WITH l1 AS (SELECT DISTINCT dst FROM knows WHERE src = $k), l2 AS ({level('l1')}), l3 AS ({level('l2')}) "
                  "SELECT count(*) FROM (SELECT dst FROM l1 UNION SELECT dst FROM l2 UNION SELECT dst FROM l3)",
    }
    results = {}
    for name, query in queries.items():
        times, counts = [], None
        for run in range(runs):
            t = time.perf_counter()
            got = [int(con.execute(query, {"k": s}).fetchone()[0]) for s in seeds]
            times.append(time.perf_counter() - t)
            counts = counts or got
        results[name] = {"seconds": statistics.median(times), "counts": counts}
    con.close()
    return {"version": duckdb.__version__, "classes": results}


def worker(system, phase, graph, work, runs, threads):
    """`load` a fresh database (time and size), or `query` the loaded one (its own process, so
    its peak RSS is what querying takes)."""
    graph, work = pathlib.Path(graph), pathlib.Path(work)
    seeds = [int(line) for line in (graph / "seeds.txt").read_text().split()]
    db_path = work / ("duckdb.db" if system == "duckdb" else f"{system}-db")
    if phase == "load" and db_path.exists():
        shutil.rmtree(db_path) if db_path.is_dir() else db_path.unlink()
    if system == "duckdb":
        result = run_duckdb(phase, graph, db_path, seeds, runs, threads)
    else:
        result = run_cypher(system, phase, graph, db_path, seeds, runs, threads)
    if phase == "load":
        result["disk_bytes"] = du(db_path)
    print(json.dumps(result))


def run_worker(python, system, phase, graph, work, runs, threads):
    proc = subprocess.Popen(
        [str(python), __file__, "worker", system, phase, str(graph), str(work), str(runs), str(threads)],
        stdout=subprocess.PIPE, text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{system} {phase} failed (status {status})")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_rss_bytes"] = usage.ru_maxrss * 1024
    return result


# ---- the orchestration --------------------------------------------------------------------

def cargo_bench(name, *args):
    out = subprocess.run(["cargo", "bench", "-q", "--bench", name, "--", *args], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"cargo bench --bench {name} failed:\n{out.stderr}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=16)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--peers", default="kuzu,ladybug,duckdb", help="which peers to run, comma-separated")
    args = ap.parse_args()

    python = venv_python()
    graph = ROOT / "target" / f"rmat{args.scale}"
    print(cargo_bench("rmat_csv", "--scale", str(args.scale), "--out", str(graph)).strip(), file=sys.stderr)
    quiver_out = cargo_bench("peer_quiver", "--dir", str(graph), "--runs", str(args.runs))
    quiver = json.loads(quiver_out[quiver_out.index("{"):])
    # Peak RSS of a process that only opens the loaded database and queries it.
    again = cargo_bench("peer_quiver", "--dir", str(graph), "--runs", "1", "--skip-load", "--no-tcp")
    quiver["peak_rss_bytes_querying"] = json.loads(again[again.index("{"):])["peak_rss_bytes_querying"]
    reference = {name: quiver["plain_csr"][name]["counts"] for name, _, _ in CLASSES}
    traversed = {name: quiver["plain_csr"][name]["edges_traversed"] for name, _, _ in CLASSES}

    work = ROOT / "target" / f"peers{args.scale}"
    work.mkdir(parents=True, exist_ok=True)
    peers = {}
    for system in [p for p in args.peers.split(",") if p]:
        print(f"running {system}...", file=sys.stderr)
        loaded = run_worker(python, system, "load", graph, work, args.runs, args.threads)
        queried = run_worker(python, system, "query", graph, work, args.runs, args.threads)
        peers[system] = {**loaded, **queried, "peak_rss_bytes_loading": loaded["peak_rss_bytes"]}

    # Every system must give the same count for every seed.
    problems = []
    for label, classes in [("quiver embedded", quiver["embedded"]), ("quiver tcp", quiver["tcp"] or {}),
                           ("quiver tcp pipelined", quiver.get("tcp_pipelined") or {})] + [
        (s, r["classes"]) for s, r in peers.items()
    ]:
        for name, _, _ in CLASSES:
            if name in classes and classes[name]["counts"] != reference[name]:
                diff = sum(1 for a, b in zip(classes[name]["counts"], reference[name]) if a != b)
                problems.append(f"{label} {name}: {diff} of 100 seeds differ from the plain CSR")

    rows = [
        ("plain CSR (Rust)", None, None, None, quiver["plain_csr"]),
        ("quiver embedded", quiver["load_seconds"], quiver["disk_bytes"], quiver["peak_rss_bytes_querying"], quiver["embedded"]),
    ]
    if quiver.get("tcp"):
        rows.append(("quiver over TCP, one request at a time", None, None, None, quiver["tcp"]))
    if quiver.get("tcp_pipelined"):
        rows.append(("quiver over TCP, the 100 seeds pipelined", None, None, None, quiver["tcp_pipelined"]))
    for system, r in peers.items():
        rows.append((f"{system} {r['version']}", r["load_seconds"], r["disk_bytes"], r["peak_rss_bytes"], r["classes"]))

    mib = lambda b: "" if b is None else f"{b / 2**20:.0f} MiB"
    secs = lambda s: "" if s is None else f"{s:.2f} s"
    ms = lambda s: f"{s * 1e3:.2f} ms" if s < 10 else f"{s:.2f} s"
    print(f"\nscale {args.scale}: {quiver['vertices']:,} vertices, {quiver['edges']:,} edges, 100 seeds, "
          f"{args.runs} runs (median), {args.threads} threads\n")
    print("| system | load | disk | peak RSS querying | " + " | ".join(n for n, _, _ in CLASSES) + " |")
    print("|---|---|---|---|" + "---|" * len(CLASSES))
    for label, load, disk, rss, classes in rows:
        cells = [ms(classes[n]["seconds"]) for n, _, _ in CLASSES]
        print(f"| {label} | {secs(load)} | {mib(disk)} | {mib(rss)} | " + " | ".join(cells) + " |")
    print("\nthroughput, edges traversed per second (ratio: system time / quiver embedded time)\n")
    print("| system | " + " | ".join(n for n, _, _ in CLASSES) + " |")
    print("|---|" + "---|" * len(CLASSES))
    for label, _, _, _, classes in rows:
        cells = []
        for n, _, _ in CLASSES:
            t = classes[n]["seconds"]
            ratio = t / quiver["embedded"][n]["seconds"]
            cells.append(f"{traversed[n] / max(t, 1e-12) / 1e6:,.1f} M/s ({ratio:.2f}x)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\ncounts: " + ("every system agrees on every seed" if not problems else "; ".join(problems)))
    result = {"scale": args.scale, "runs": args.runs, "threads": args.threads, "quiver": quiver, "peers": peers, "problems": problems}
    (ROOT / "target" / f"peers-{args.scale}.json").write_text(json.dumps(result, indent=1))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(*sys.argv[2:6], int(sys.argv[6]), int(sys.argv[7]))
    else:
        main()
