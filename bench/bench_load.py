"""Load and fault benchmark: many turns on many sessions against a real server; kill -9 mid-load.

Run: ``.venv/bin/python bench/bench_load.py [--turns 5000] [--concurrency 64] [--sessions 200]
[--workers 1] [--store sqlite|redis] [--kill] [--index-from DIR]``. Starts ``finadvisor serve`` on
127.0.0.1 (with ``--store redis`` also a redis-server with ``appendonly yes`` and
``appendfsync always``, so Redis itself loses no acknowledged write), opens the sessions, sends
the turns (each message is unique, so each can be found again) and prints throughput,
p50/p95/p99, the server's RSS before and after, and stored versus acknowledged turns, read back
through ``GET /v1/sessions/{id}``. ``--kill`` sends SIGKILL to the server (all its processes)
once a third of the turns are acknowledged, restarts it, sends the rest, and prints how many
acknowledged turns are missing after the restart (must be 0). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from bench_api import MESSAGES, children_rss_mib, free_port, seed_data_dir, wait

ROOT = Path(__file__).resolve().parent.parent


def start_server(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``finadvisor serve`` in its own process group (killed as a whole with ``--kill``)."""
    command = [str(Path(sys.executable).parent / "finadvisor"), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def start_redis(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A redis-server that fsyncs every write (appendfsync always)."""
    executable = shutil.which("redis-server")
    if executable is None:
        sys.exit(
            "redis-server is not installed; run `make system-deps` (or apt-get install redis-server)."
        )
    port = free_port()
    command = [executable, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
               "--appendonly", "yes", "--appendfsync", "always", "--save", ""]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            import redis

            if redis.Redis.from_url(url).ping():
                return process, url
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.2)
    sys.exit("redis-server did not start")


class Load:
    """Sends the turns; remembers which ones the server acknowledged (HTTP 200)."""

    def __init__(self, url: str, concurrency: int) -> None:
        self.url, self.concurrency = url, concurrency
        self.latencies: list[float] = []
        self.acknowledged: dict[str, list[str]] = {}
        self.errors = 0
        self.error_kinds: Counter[str] = Counter()

    async def open_sessions(self, client: httpx.AsyncClient, count: int) -> list[str]:
        """Start ``count`` sessions (their first turn is acknowledged like any other)."""
        opened: list[str] = []

        async def one(n: int) -> None:
            text = f"{MESSAGES[n % len(MESSAGES)]}（开场{n}）"
            for _ in range(5):  # a session that cannot be opened is retried, then reported
                response = await client.post(f"{self.url}/v1/chat", json={"message": text})
                if response.status_code == 200:
                    break
                self.errors += 1
                self.error_kinds[f"HTTP {response.status_code} (opening)"] += 1
            else:
                raise SystemExit(f"could not open a session: HTTP {response.status_code} "
                                 f"{response.text[:200]}")  # fmt: skip
            session = response.json()["session_id"]
            self.acknowledged[session] = [text]
            opened.append(session)

        for start in range(0, count, self.concurrency):
            await asyncio.gather(
                *(one(n) for n in range(start, min(count, start + self.concurrency)))
            )
        return opened

    async def send(self, client: httpx.AsyncClient, sessions: list[str], turns: range,
                   on_progress: object = None) -> float:  # fmt: skip
        """Send ``turns`` round-robin over ``sessions``; the wall-clock seconds it took."""
        counter = iter(turns)

        async def worker() -> None:
            for n in counter:
                session = sessions[n % len(sessions)]
                text = f"{MESSAGES[n % len(MESSAGES)]}（第{n}条）"
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"{self.url}/v1/chat", json={"session_id": session, "message": text}
                    )
                except httpx.HTTPError as exc:
                    self.errors += 1
                    self.error_kinds[type(exc).__name__] += 1
                    await self.wait_up(client)
                    continue
                if response.status_code == 200:
                    self.latencies.append(time.perf_counter() - started)
                    self.acknowledged[session].append(text)
                    if callable(on_progress):
                        on_progress()
                else:
                    self.errors += 1
                    self.error_kinds[f"HTTP {response.status_code}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return time.perf_counter() - started

    async def wait_up(self, client: httpx.AsyncClient) -> None:
        """Block until the server answers /healthz again (after a kill)."""
        while True:
            try:
                if (await client.get(f"{self.url}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)

    async def missing(self, client: httpx.AsyncClient) -> tuple[int, int]:
        """(stored user turns, acknowledged turns missing from the store)."""
        stored = missing = 0
        for session, texts in self.acknowledged.items():
            body = (await client.get(f"{self.url}/v1/sessions/{session}")).json()
            users = [t["text"] for t in body.get("turns", []) if t.get("role") == "user"]
            stored += len(users)
            missing += len(set(texts) - set(users))
        return stored, missing


def percentile(ordered: list[float], q: float) -> float:
    """The ``q`` quantile of sorted samples, in milliseconds."""
    return ordered[int(q * (len(ordered) - 1))] * 1000 if ordered else float("nan")


def main() -> None:
    """Start the server (and Redis), load it, optionally kill it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--store", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--kill", action="store_true", help="kill -9 the server mid-load")
    parser.add_argument("--index-from", type=Path, help="data dir with a built index/ and models/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seed_data_dir(tmp, args.index_from)
        env = {**os.environ, "FINADVISOR_DATA_DIR": str(tmp),
               "FINADVISOR_RATE_LIMIT": "100000000/minute"}  # fmt: skip
        redis_server = None
        if args.store == "redis":
            redis_server, env["FINADVISOR_SESSION_URL"] = start_redis(tmp)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        servers = [start_server(port, args.workers, env)]
        try:
            wait(f"{url}/healthz")
            asyncio.run(run(args, url, servers, port, env))
        finally:
            for server in servers:
                if server.poll() is None:
                    os.killpg(server.pid, signal.SIGTERM)
                    server.wait(timeout=60)
            if redis_server is not None:
                redis_server.terminate()
                redis_server.wait(timeout=30)


async def run(args: argparse.Namespace, url: str, servers: list[subprocess.Popen[bytes]],
              port: int, env: dict[str, str]) -> None:  # fmt: skip
    """The measured part; a restarted server is appended to ``servers``."""
    server = servers[0]
    load = Load(url, args.concurrency)
    limits = httpx.Limits(max_connections=args.concurrency * 2)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        rss_before = children_rss_mib(server.pid)
        started = time.perf_counter()
        sessions = await load.open_sessions(client, args.sessions)
        remaining = range(args.sessions, args.turns)
        killed_at = None
        if args.kill:
            threshold = args.turns // 3
            first = server

            def maybe_kill() -> None:
                nonlocal killed_at
                acknowledged = sum(len(t) for t in load.acknowledged.values())
                if killed_at is None and acknowledged >= threshold:
                    killed_at = acknowledged
                    os.killpg(first.pid, signal.SIGKILL)  # the server and every worker

            task = asyncio.create_task(load.send(client, sessions, remaining, maybe_kill))
            while killed_at is None and not task.done():
                await asyncio.sleep(0.05)
            if killed_at is not None:
                first.wait()
                server = start_server(port, args.workers, env)
                servers.append(server)
                await task
            else:
                await task
        else:
            await load.send(client, sessions, remaining)
        seconds = time.perf_counter() - started
        rss_after = children_rss_mib(server.pid)
        stored, missing = await load.missing(client)
    acknowledged = sum(len(t) for t in load.acknowledged.values())
    ordered = sorted(load.latencies)
    print(f"{args.turns} turns, {args.concurrency} concurrent, {args.sessions} sessions,"
          f" {args.workers} worker(s), store {args.store}"
          + (" (redis appendfsync always)" if args.store == "redis" else " (SQLite WAL)"))  # fmt: skip
    print(f"throughput {len(ordered) / seconds:.1f} turns/s over {seconds:.1f} s (acknowledged"
          " turns after the sessions opened; includes the restart with --kill)")  # fmt: skip
    print(f"latency p50 {percentile(ordered, 0.5):.0f} ms, p95 {percentile(ordered, 0.95):.0f} ms,"
          f" p99 {percentile(ordered, 0.99):.0f} ms; mean {statistics.fmean(ordered) * 1000:.0f} ms")  # fmt: skip
    kinds = ", ".join(f"{kind} x{n}" for kind, n in load.error_kinds.most_common())
    print(f"errors (not acknowledged) {load.errors}" + (f": {kinds}" if kinds else ""))
    print(f"server RSS {rss_before:.0f} MiB before, {rss_after:.0f} MiB after (all processes)")
    print(f"acknowledged {acknowledged}, stored {stored}")
    if args.kill:
        print(f"killed with SIGKILL after {killed_at} acknowledged turns, restarted;"
              f" acknowledged turns missing after restart: {missing} (must be 0)")  # fmt: skip
    else:
        print(f"acknowledged turns missing from the store: {missing}")


if __name__ == "__main__":
    main()
