"""`make bench`: production server over seed_bench data, driven by a separate load client.

For each scale (0.1 and 1 by default; 10 with --with-10):

1. a template database `ipt_bench_tpl_<scale>` is seeded once with
   `seed_bench` (kept between runs; rebuilt when seed_bench.py changes), then
   cloned into `ipt_bench` (PostgreSQL `CREATE DATABASE ... TEMPLATE`) and
   migrated, so every run starts from the same data;
2. gunicorn starts with production settings (DEBUG off, manifest static files,
   two-factor sign-in required) and IPT_BENCH_QUERY_COUNT=true;
3. this process signs the bench users in (bench/plan.py) and drives, with
   asyncio + httpx, a warm-up, a fixed-rate mixed load (open loop, all pages at
   once) and then each page alone at maximum throughput (closed loop), while
   sampling the workers' resident memory.

It prints a table and writes bench/results.json. Server and client share the
machine's cores: the numbers are for that setup, and ratios to /healthz in the
same run are what carry over to other machines.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from bench.servers import free_port, manage, production_env, rss_kib, start_server  # noqa: E402

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
BENCH_DB = os.environ.get("BENCH_DB", "ipt_bench")
RESULTS = ROOT / "bench" / "results.json"
WORK = ROOT / "var" / "bench"
SEED_SOURCE = ROOT / "sessions_app" / "management" / "commands" / "seed_bench.py"
GROWTH_LIMIT = 1.5  # a paginated page's p50 at scale 10 over its p50 at scale 1
LATENCY_MAX_REQUESTS = 300  # per page in the latency phase (healthz would otherwise send thousands)
MIN_RATE = 0.05  # requests/s per page in the fixed-rate phase
SATURATED = 5  # healthz p50 under the fixed rate this many times its unloaded p50: the server was saturated


def psql(sql: str, database: str = "postgres") -> str:
    """Run one statement as the PostgreSQL superuser; return its unaligned output."""
    result = subprocess.run(  # noqa: S603
        ["psql", f"{PG}/{database}", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql failed: {sql}\n{result.stderr}")
    return result.stdout.strip()


def scale_label(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


def seed_version() -> str:
    return hashlib.sha256(SEED_SOURCE.read_bytes()).hexdigest()[:16]


def ensure_template(scale: float, base_env: dict[str, str]) -> dict[str, Any]:
    """The seeded template database for `scale`; seeded now unless an up-to-date one exists."""
    name = f"ipt_bench_tpl_{scale_label(scale)}"
    marker = f"seed_bench {seed_version()} scale {scale:g}"
    # Names and values here are our own constants, never user input.
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
    if exists:
        comment = psql(
            f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{name}'"  # noqa: S608
        )
        if comment == marker:
            return {"template": name, "seeded_now": False}
        psql(f'DROP DATABASE "{name}"')
    psql(f'CREATE DATABASE "{name}"')
    env = {**base_env, "DATABASE_URL": f"{PG}/{name}"}
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    started = time.monotonic()
    output = manage(env, "seed_bench", "--scale", f"{scale:g}", timeout=7200).stdout.strip()
    seconds = round(time.monotonic() - started, 1)
    psql(f"COMMENT ON DATABASE \"{name}\" IS '{marker}'")
    print(f"  seeded {name} in {seconds} s: {output}")
    return {"template": name, "seeded_now": True, "seed_seconds": seconds, "seed_output": output}


def clone(template: str, env: dict[str, str]) -> None:
    """A fresh copy of the template as the bench database, migrated to the current code."""
    psql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{BENCH_DB}" TEMPLATE "{template}"')
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    psql("ANALYZE", BENCH_DB)


class RssSampler(threading.Thread):
    """Peak resident memory of the server's workers, sampled every half second."""

    def __init__(self, server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.peak: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in self.server.worker_pids():
                self.peak[pid] = max(self.peak.get(pid, 0), rss_kib(pid))
            self.stopped.wait(0.5)

    def stop(self) -> int:
        self.stopped.set()
        self.join()
        return max(self.peak.values(), default=0)


def run_scale(scale: float, args: argparse.Namespace, base_env: dict[str, str]) -> dict[str, Any]:
    from django.db import connections

    from bench import plan as bench_plan

    print(f"\n=== scale {scale:g} ===")
    info = ensure_template(scale, base_env)
    connections.close_all()
    clone(info["template"], base_env)
    info["rows"] = {
        table: int(psql(f"SELECT count(*) FROM sessions_app_{table}", BENCH_DB))  # noqa: S608
        for table in ("patient", "therapysession", "measureresponse", "goalreview", "auditevent")
    }
    plan = bench_plan.build(therapists=args.users)
    connections.close_all()
    info["missing_pages"] = plan.missing
    info["users"] = plan.users
    print(f"  users: {plan.users}; pages: {sorted(plan.targets)}; missing: {plan.missing or 'none'}")

    server = start_server(
        # No worker recycling mid-run; a slow page is measured, not killed at gunicorn's default 30 s.
        {
            **base_env,
            "IPT_BENCH_QUERY_COUNT": "true",
            "GUNICORN_MAX_REQUESTS": "0",
            "GUNICORN_TIMEOUT": "120",
        },
        port=free_port(),
        workers=args.workers,
        log_path=WORK / f"gunicorn-{scale_label(scale)}.log",
    )
    sampler = RssSampler(server)
    sampler.start()
    load_before = os.getloadavg()
    posts_left = plan.post_capacity
    try:
        everything = [t for targets in plan.targets.values() for t in targets]
        warm, _ = asyncio.run(load.closed_loop(server.url, everything, 2, args.warmup))
        posts_left -= sum(1 for s in warm if s.page == "session POST")
        warm_errors = [s.error for s in warm if s.error]

        # 1. Latency: each page alone, one request at a time: service time with no queueing,
        #    the p50s that are compared with /healthz's.
        print(f"  latency: each page alone, 1 connection, {args.latency_seconds:g} s")
        latency_summary = {}
        for page, targets in plan.targets.items():
            samples, elapsed = asyncio.run(
                load.closed_loop(
                    server.url, targets, 1, args.latency_seconds, max_requests=LATENCY_MAX_REQUESTS
                )
            )
            if page == "session POST":
                posts_left -= len(samples)
            latency_summary[page] = load.summarise(samples, elapsed)[page]

        # 2. Fixed rate: every page at once, open loop, at a share of what the server can do
        #    (from the latencies above) unless --rate says otherwise.
        round_seconds = sum(summary.p50_ms for summary in latency_summary.values()) / 1000
        rate = args.rate or max(MIN_RATE, round(args.load_fraction * args.workers / round_seconds, 2))
        total = rate * len(plan.targets)
        print(f"  fixed rate: {rate:g} req/s per page ({total:.1f} in all) for {args.seconds:g} s")
        fixed = asyncio.run(load.fixed_rate(server.url, plan.targets, rate, args.seconds))
        posts_left -= sum(1 for s in fixed if s.page == "session POST")
        fixed_summary = load.summarise(fixed, args.seconds)

        # 3. Maximum throughput: each page alone, closed loop.
        print(
            f"  maximum throughput: each page alone, {args.concurrency} connections, {args.max_seconds:g} s"
        )
        max_summary = {}
        for page, targets in plan.targets.items():
            limit = max(posts_left, 0) if page == "session POST" else None
            samples, elapsed = asyncio.run(
                load.closed_loop(server.url, targets, args.concurrency, args.max_seconds, max_requests=limit)
            )
            if page == "session POST":
                posts_left -= len(samples)
            max_summary[page] = load.summarise(samples, elapsed).get(page)
    finally:
        peak_kib = sampler.stop()
        server.stop()
    load_after = os.getloadavg()

    healthz_p50 = latency_summary["healthz"].p50_ms
    pages = {}
    for spec in bench_plan.PAGES:
        if spec.name not in latency_summary:
            continue
        latency_page, fixed_page, max_page = (
            latency_summary[spec.name],
            fixed_summary.get(spec.name),
            max_summary.get(spec.name),
        )
        pages[spec.name] = {
            "latency": latency_page.as_dict(),
            "fixed": fixed_page.as_dict() if fixed_page else None,
            "max": max_page.as_dict() if max_page else None,
            "ratio_to_healthz_p50": round(latency_page.p50_ms / healthz_p50, 1) if healthz_p50 else None,
            "target_ratio": spec.target_ratio,
            "paginated": spec.paginated,
        }
    # Open loop above capacity measures the queue, not the pages: say so.
    fixed_healthz = fixed_summary.get("healthz")
    info["fixed_rate_per_page"] = rate
    info["fixed_rate_saturated"] = bool(fixed_healthz and fixed_healthz.p50_ms > SATURATED * healthz_p50)
    info.update(
        scale=scale,
        pages=pages,
        warmup_errors=warm_errors[:5],
        peak_worker_rss_mib=round(peak_kib / 1024, 1),
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in load_after],
    )
    return info


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 6, met or not (or not measured)."""
    checks = []
    scales = results["scales"]
    at_1 = scales.get("1")
    for name, page in (at_1 or {}).get("pages", {}).items():
        if page["target_ratio"] is not None:
            ratio = page["ratio_to_healthz_p50"]
            checks.append(
                {
                    "target": f"{name}: p50 ≤ {page['target_ratio']:g}× healthz p50 at scale 1",
                    "measured": f"{ratio}×",
                    "met": ratio is not None and ratio <= page["target_ratio"],
                }
            )
    errors = sum(
        page["latency"]["errors"]
        + ((page["fixed"] or {}).get("errors") or 0)
        + ((page["max"] or {}).get("errors") or 0)
        for scale in scales.values()
        for page in scale["pages"].values()
    ) + sum(len(scale["warmup_errors"]) for scale in scales.values())
    checks.append(
        {"target": "zero errors (every page, every scale)", "measured": str(errors), "met": errors == 0}
    )
    at_10 = scales.get("10")
    for name, page in (at_1 or {}).get("pages", {}).items():
        if not page["paginated"]:
            continue
        if at_10 is None or name not in at_10["pages"]:
            checks.append(
                {
                    "target": f"{name}: p50 at scale 10 ≤ {GROWTH_LIMIT}× scale 1",
                    "measured": "not run",
                    "met": None,
                }
            )
            continue
        growth = at_10["pages"][name]["latency"]["p50_ms"] / page["latency"]["p50_ms"]
        checks.append(
            {
                "target": f"{name}: p50 at scale 10 ≤ {GROWTH_LIMIT}× scale 1",
                "measured": f"{growth:.2f}×",
                "met": growth <= GROWTH_LIMIT,
            }
        )
    return checks


def growth(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Each page's p50 (latency phase) at each scale, and its growth from the smallest scale."""
    table: dict[str, dict[str, float]] = {}
    ordered = sorted(results["scales"].values(), key=lambda s: s["scale"])
    for scale in ordered:
        for name, page in scale["pages"].items():
            table.setdefault(name, {})[f"p50_ms@{scale['scale']:g}"] = page["latency"]["p50_ms"]
    for row in table.values():
        values = list(row.values())
        if len(values) > 1 and values[0]:
            row["growth_last_over_first"] = round(values[-1] / values[0], 2)
    return table


def render(results: dict[str, Any]) -> str:
    """The tables for the terminal and the README (Markdown)."""
    lines = []
    for scale in sorted(results["scales"].values(), key=lambda s: s["scale"]):
        rows = scale["rows"]
        lines += [
            f"**Scale {scale['scale']:g}** ({rows['patient']:,} patients, "
            f"{rows['therapysession']:,} sessions, {rows['measureresponse']:,} questionnaires, "
            f"{rows['auditevent']:,} audit events; "
            f"peak worker RSS {scale['peak_worker_rss_mib']} MiB; fixed rate "
            f"{scale['fixed_rate_per_page']:g} req/s per page"
            f"{', saturated' if scale['fixed_rate_saturated'] else ''})",
            "",
            "| Page | Queries | p50 ms | p95 ms | p99 ms | p50 × healthz | Target "
            "| p50 / p95 ms at fixed rate | Max req/s | Errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, page in scale["pages"].items():
            latency, fixed, peak = page["latency"], page["fixed"] or {}, page["max"] or {}
            queries = sorted({*latency["queries"], *fixed.get("queries", []), *peak.get("queries", [])})
            target = f"≤ {page['target_ratio']:g}×" if page["target_ratio"] else ""
            errors = latency["errors"] + (fixed.get("errors") or 0) + (peak.get("errors") or 0)
            lines.append(
                f"| {name} | {'/'.join(str(q) for q in queries) or '–'} | {latency['p50_ms']} | "
                f"{latency['p95_ms']} | {latency['p99_ms']} | {page['ratio_to_healthz_p50']}× | {target} | "
                f"{fixed.get('p50_ms', '–')} / {fixed.get('p95_ms', '–')} | "
                f"{peak.get('rps', '–')} | {errors} |"
            )
        lines.append("")
    grow = results["growth"]
    if grow:
        scales = sorted(results["scales"].values(), key=lambda s: s["scale"])
        header = " | ".join(f"p50 ms @ {s['scale']:g}" for s in scales)
        lines += [f"| Page | {header} | growth |", "|---|" + "---:|" * (len(scales) + 1)]
        for name, row in grow.items():
            cells = " | ".join(str(row.get(f"p50_ms@{s['scale']:g}", "–")) for s in scales)
            lines.append(f"| {name} | {cells} | {row.get('growth_last_over_first', '–')}× |")
        lines.append("")
    lines += ["| Target | Measured | Met |", "|---|---|---|"]
    for check in results["targets"]:
        met = {True: "yes", False: "**no**", None: "not run"}[check["met"]]
        lines.append(f"| {check['target']} | {check['measured']} | {met} |")
    missing = sorted({m for s in results["scales"].values() for m in s["missing_pages"]})
    lines += ["", f"Pages missing (URL not there yet): {', '.join(missing) or 'none'}."]
    return "\n".join(lines)


README = ROOT / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


def update_readme(results: dict[str, Any]) -> None:
    """Put the latest tables between the README's bench markers (the Performance section)."""
    text = README.read_text()
    if README_START not in text or README_END not in text:
        print("README has no bench markers; not updated.")
        return
    scales = results["scales"].values()
    loads = ", ".join(f"{s['loadavg_before'][0]}–{s['loadavg_after'][0]}" for s in scales)
    settings = results["settings"]
    meta = (
        f"Measured {results['started'][:16].replace('T', ' ')} UTC on {results['machine']['cpus']} cores "
        f"(PostgreSQL {results['machine']['postgresql']}, Python {results['machine']['python']}; "
        f"{settings['workers']} sync workers; load average during the runs {loads}: other work shared "
        f"the machine, and the load client runs on the same cores as the server and database). "
        f"p50/p95/p99: each page alone, one request at a time, {settings['latency_seconds_per_page']:g} s "
        f"(service time without queueing; × healthz compares these). Fixed rate: every page at once, "
        f"open loop, at {settings['fixed_rate_per_page']} for {settings['fixed_seconds']:g} s. Max req/s: "
        f"each page alone with {settings['max_concurrency']} connections for "
        f"{settings['max_seconds_per_page']:g} s."
    )
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    README.write_text(f"{head}{README_START}\n{meta}\n\n{render(results)}\n{README_END}{tail}")
    print(f"Updated {README.relative_to(ROOT)}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.1,1", help="comma-separated scales (default 0.1,1)")
    parser.add_argument("--with-10", action="store_true", help="also run scale 10 (a ~20 minute seed once)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2, one per core)")
    parser.add_argument("--users", type=int, default=10, help="signed-in therapists (default 10)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="fixed-rate requests/s per page (default: from --load-fraction)",
    )
    parser.add_argument(
        "--load-fraction",
        type=float,
        default=0.5,
        help="fixed rate as a share of the capacity the latency phase implies (default 0.5)",
    )
    parser.add_argument("--latency-seconds", type=float, default=6.0, help="latency phase seconds per page")
    parser.add_argument("--seconds", type=float, default=40.0, help="fixed-rate duration (default 40)")
    parser.add_argument("--max-seconds", type=float, default=8.0, help="max-throughput seconds per page")
    parser.add_argument("--concurrency", type=int, default=4, help="max-throughput connections (default 4)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up seconds (default 5)")
    parser.add_argument(
        "--update-readme", action="store_true", help="replace the results in README's Performance section"
    )
    args = parser.parse_args(argv)
    try:
        scales = [float(s) for s in args.scales.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--scales must be numbers separated by commas, not {args.scales!r}")
    if args.with_10 and 10.0 not in scales:
        scales.append(10.0)
    if any(s <= 0 for s in scales) or args.workers < 1 or (args.rate is not None and args.rate <= 0):
        parser.error("scales, --workers and --rate must be positive")
    if args.seconds <= 0 or args.latency_seconds <= 0 or not 0 < args.load_fraction <= 1:
        parser.error("--seconds and --latency-seconds must be positive, --load-fraction in (0, 1]")

    WORK.mkdir(parents=True, exist_ok=True)
    base_env = production_env(
        database_url=f"{PG}/{BENCH_DB}",
        secret_key=secrets.token_urlsafe(50),
        static_root=WORK / "static",
        DJANGO_LOG_LEVEL="ERROR",
    )
    manage(base_env, "collectstatic", "--noinput", "--verbosity", "0")
    # This process signs users in and looks up URLs with the server's settings and database.
    os.environ.clear()
    os.environ.update(base_env)
    import django

    django.setup()

    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": psql("SHOW server_version"),
            "note": "server, PostgreSQL and load client share these cores",
        },
        "settings": {
            "workers": args.workers,
            "worker_class": "sync",
            "fixed_rate_per_page": args.rate or f"auto ({args.load_fraction:g} of capacity)",
            "latency_seconds_per_page": args.latency_seconds,
            "fixed_seconds": args.seconds,
            "max_seconds_per_page": args.max_seconds,
            "max_concurrency": args.concurrency,
            "signed_in_therapists": args.users,
            "client": "asyncio + httpx (bench/load.py)",
        },
        "scales": {},
    }
    for scale in scales:
        results["scales"][f"{scale:g}"] = run_scale(scale, args, base_env)
    results["growth"] = growth(results)
    results["targets"] = evaluate(results)
    results["seconds"] = round((datetime.now(UTC) - started).total_seconds())
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(render(results))
    if args.update_readme:
        update_readme(results)
    print(f"\nWrote {RESULTS.relative_to(ROOT)} ({results['seconds']} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
