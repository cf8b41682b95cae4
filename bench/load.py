"""The load client: asyncio + httpx, no Django, no extra infrastructure.

Two shapes of load over a list of `Target`s (one signed-in user's request each):

* `fixed_rate`: open loop. Each page gets requests at a fixed rate whatever
  the server does, and latency is measured from the moment a request was *due*,
  so a stalled server shows up in the tail instead of slowing the client down
  (no coordinated omission).
* `closed_loop`: N connections each send their next request as soon as the
  last one answered: the maximum throughput.

A sample records status, latency and the `X-Query-Count` header (present when
the server runs with IPT_BENCH_QUERY_COUNT=true).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

QUERY_HEADER = "x-query-count"


@dataclass(frozen=True)
class Target:
    """One request of a page: who sends it (cookies), where, and what answer means success."""

    page: str
    url: str
    cookies: str = ""  # a ready Cookie header
    method: str = "GET"
    form: dict[str, str] | None = None  # POST body; "{uuid}" and "{today}" are filled in per request
    expect: int = 200
    expect_location: str = ""  # for redirects: where a success leads (a login or 2FA page is a failure)


@dataclass
class Sample:
    page: str
    latency: float  # seconds
    status: int
    queries: int | None
    error: str = ""


@dataclass
class Summary:
    """Per-page figures of one phase."""

    count: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    queries: list[int] = field(default_factory=list)  # distinct values seen
    error_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarise(samples: list[Sample], duration: float) -> dict[str, Summary]:
    by_page: dict[str, list[Sample]] = {}
    for sample in samples:
        by_page.setdefault(sample.page, []).append(sample)
    result = {}
    for page, page_samples in by_page.items():
        ok = [s.latency * 1000 for s in page_samples if not s.error]
        errors = [s for s in page_samples if s.error]
        result[page] = Summary(
            count=len(page_samples),
            errors=len(errors),
            p50_ms=round(percentile(ok, 50), 2),
            p95_ms=round(percentile(ok, 95), 2),
            p99_ms=round(percentile(ok, 99), 2),
            rps=round(len(ok) / duration, 1) if duration else 0.0,
            queries=sorted({s.queries for s in page_samples if s.queries is not None}),
            error_examples=sorted({s.error for s in errors})[:3],
        )
    return result


def _body(form: dict[str, str]) -> dict[str, str]:
    today = date.today().isoformat()
    return {k: v.replace("{uuid}", str(uuid.uuid4())).replace("{today}", today) for k, v in form.items()}


async def send(client: httpx.AsyncClient, target: Target, due: float) -> Sample:
    """Send one request; latency counts from `due` (the time it should have started)."""
    headers = {"Cookie": target.cookies} if target.cookies else {}
    try:
        if target.method == "POST":
            response = await client.post(target.url, data=_body(target.form or {}), headers=headers)
        else:
            response = await client.get(target.url, headers=headers)
        latency = time.perf_counter() - due
        client.cookies.clear()  # every request carries its own user's cookies, nothing else
        count = response.headers.get(QUERY_HEADER)
        error = "" if response.status_code == target.expect else f"HTTP {response.status_code} {target.url}"
        location = response.headers.get("location", "")
        if not error and target.expect_location and not location.startswith(target.expect_location):
            error = f"redirected to {location.split('?')[0]}: {target.url}"
        return Sample(target.page, latency, response.status_code, int(count) if count else None, error)
    except httpx.HTTPError as exc:
        return Sample(target.page, time.perf_counter() - due, 0, None, f"{type(exc).__name__}: {target.url}")


def new_client(base_url: str, connections: int = 64) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120.0, follow_redirects=False)


async def fixed_rate(
    base_url: str, targets: dict[str, list[Target]], rate_per_page: float, duration: float
) -> list[Sample]:
    """Every page at `rate_per_page` requests a second for `duration` seconds, staggered, open loop."""
    samples: list[Sample] = []
    interval = 1.0 / rate_per_page
    async with new_client(base_url) as client:
        tasks = []
        start = time.perf_counter() + 0.1
        pages = sorted(targets)
        cycles = {page: itertools.cycle(targets[page]) for page in pages}
        schedule = []
        for index, page in enumerate(pages):
            offset = interval * index / len(pages)
            n = int(duration * rate_per_page)
            schedule += [(start + offset + k * interval, page) for k in range(n)]
        schedule.sort()
        for due, page in schedule:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(client, next(cycles[page]), due)))
        for task in tasks:
            samples.append(await task)
    return samples


async def closed_loop(
    base_url: str,
    targets: list[Target],
    concurrency: int,
    duration: float,
    max_requests: int | None = None,
) -> tuple[list[Sample], float]:
    """`concurrency` loops sending back to back for `duration` seconds (or until `max_requests`
    were sent); returns samples and elapsed time."""
    samples: list[Sample] = []
    cycle = itertools.cycle(targets)
    budget = itertools.count()
    async with new_client(base_url, connections=concurrency) as client:
        start = time.perf_counter()
        stop = start + duration

        async def loop() -> None:
            while time.perf_counter() < stop and (max_requests is None or next(budget) < max_requests):
                samples.append(await send(client, next(cycle), time.perf_counter()))

        await asyncio.gather(*(loop() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return samples, elapsed


def run(coroutine_factory: Callable[[], Any]) -> Any:
    return asyncio.run(coroutine_factory())


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
