"""Start and stop production app servers (gunicorn, DEBUG off) for the benchmark and serving tests.

Used by `bench/run.py`, `bench/loadtest.py` and `tests/test_serving.py`: the
same command line as `make serve`, on a port of our choosing, over a database
and (optionally) a Redis given in the environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for a Django PostgreSQL settings dict (e.g. the test database)."""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def production_env(
    *,
    database_url: str,
    secret_key: str,
    static_root: Path,
    redis_url: str = "",
    **extra: str,
) -> dict[str, str]:
    """The environment of a production server on plain http over loopback.

    DJANGO_HTTPS=false is the one departure from production: there is no TLS
    proxy in front on 127.0.0.1, so SSL redirects and Secure cookies would
    break every request. Everything else (DEBUG off, manifest static files,
    two-factor rules, session limits, lockout) stays as in production.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IPT_", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="ipt_tracker.settings",
        DJANGO_DEBUG="false",
        DJANGO_HTTPS="false",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_STATIC_ROOT=str(static_root),
        DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `manage.py` with `env`; raise with its output if it fails."""
    result = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class Server:
    """A running gunicorn master and its workers."""

    port: int
    process: subprocess.Popen
    log: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The master's child processes (the workers), read from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: split after it.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.process.pid:
                pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_server(
    env: dict[str, str], *, port: int, workers: int = 1, log_path: Path | None = None, timeout: float = 60
) -> Server:
    """Start gunicorn as `make serve` does and wait until /healthz answers 200."""
    env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    env.setdefault("GUNICORN_LOG_LEVEL", "warning")
    log = log_path.open("w") if log_path is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "ipt_tracker/gunicorn_conf.py", "ipt_tracker.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=log or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    server = Server(port=port, process=process, log=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise RuntimeError(f"gunicorn on port {port} exited with {process.returncode} (log: {log_path})")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"gunicorn on port {port} did not answer /healthz within {timeout:.0f} s")
