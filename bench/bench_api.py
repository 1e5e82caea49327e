"""API benchmark: chat throughput and p95 at 32 concurrent clients on loopback, and server RSS.

Run: ``.venv/bin/python bench/bench_api.py [--requests 600] [--concurrency 32] [--workers 2]
[--index-from DIR] [--rounds 3]``. Starts two real uvicorn servers on 127.0.0.1: finadvisor (POST /v1/chat)
and, as the base of the ratio, a bare FastAPI JSON endpoint (bench/bare_app.py) measured in the
same run. Prints figures only. ``--workers N`` (N > 1) serves finadvisor through
``finadvisor serve --workers N``; the bare endpoint keeps one worker. ``--index-from`` copies an
already built data directory's ``index/`` and ``models/`` instead of building them (minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = [
    "借呗有入口没额度，芝麻分620，没有逾期",
    "开奶茶店三年，纳税B级，想借20万进货",
    "花呗被降额了，很多人都被降",
    "公司给国企供货，压了三个月货款，想先拿到钱",
    "网贷借了七八家，征信花了，还能借吗",
    "借1万到手9000，12期每期还1000，年化多少",
]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(app: str, port: int, env: dict[str, str], factory: bool) -> subprocess.Popen[bytes]:
    """A uvicorn server process (one worker) for ``app``."""
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning"] + (["--factory"] if factory else [])  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env)


def serve(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``finadvisor serve --workers N`` (its own process group, so all workers stop together)."""
    command = [str(Path(sys.executable).parent / "finadvisor"), "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def seed_data_dir(data_dir: Path, source: Path | None) -> None:
    """Copy a built index and fitted models into ``data_dir`` (else the server builds them)."""
    if source is None:
        return
    for part in ("index", "models"):
        if (source / part).is_dir():
            shutil.copytree(source / part, data_dir / part)


def children_rss_mib(pid: int) -> float:
    """RSS of a process and its children (uvicorn workers), in MiB."""
    total = rss_mib(pid)
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for child_pid in child.read_text().split():
            total += children_rss_mib(int(child_pid))
    return total


def wait(url: str, timeout: float = 1200) -> None:
    """Poll until the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise TimeoutError(url)


def rss_mib(pid: int) -> float:
    """Resident set size of a process in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(url: str, total: int, concurrency: int) -> tuple[float, list[float], int]:
    """Send ``total`` POSTs with ``concurrency`` clients; (seconds, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    async with httpx.AsyncClient(timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for n in counter:
                body = {"message": MESSAGES[n % len(MESSAGES)]}
                started = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - started)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, errors


def report(name: str, seconds: float, latencies: list[float], errors: int) -> float:
    """Print one row; return throughput."""
    ordered = sorted(latencies)
    throughput = len(latencies) / seconds
    p95 = ordered[int(0.95 * (len(ordered) - 1))] * 1000
    print(
        f"{name:<28}{throughput:>10.1f}{statistics.median(ordered) * 1000:>10.1f}{p95:>10.1f}{errors:>8}"
    )
    return throughput


def main() -> None:
    """Run both servers, load them, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1, help="finadvisor worker processes")
    parser.add_argument("--rounds", type=int, default=1, help="alternate both endpoints N times")
    parser.add_argument("--index-from", type=Path, help="data dir with a built index/ and models/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seed_data_dir(Path(tmp), args.index_from)
        env = {**os.environ, "FINADVISOR_DATA_DIR": tmp, "FINADVISOR_RATE_LIMIT": "1000000/minute"}
        ports = free_port(), free_port()
        if args.workers > 1:
            advisor = serve(ports[0], args.workers, env)
        else:
            advisor = start("api:create_app", ports[0], env, factory=True)
        bare = start("bench.bare_app:app", ports[1], env, factory=False)
        try:
            wait(f"http://127.0.0.1:{ports[0]}/healthz")
            wait(f"http://127.0.0.1:{ports[1]}/docs")
            idle = children_rss_mib(advisor.pid)
            asyncio.run(
                load(f"http://127.0.0.1:{ports[0]}/v1/chat", 16 * args.workers, 8)
            )  # warm-up
            print(f"{args.requests} requests, {args.concurrency} concurrent clients,"
                  f" finadvisor {args.workers} worker(s), bare endpoint 1 worker")  # fmt: skip
            print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'errors':>8}")
            ratios = []
            for _ in range(args.rounds):  # alternated, so both sides share the machine's load
                base = report("bare FastAPI JSON (base)",
                              *asyncio.run(load(f"http://127.0.0.1:{ports[1]}/echo", args.requests, args.concurrency)))  # fmt: skip
                ours = report("finadvisor POST /v1/chat",
                              *asyncio.run(load(f"http://127.0.0.1:{ports[0]}/v1/chat", args.requests, args.concurrency)))  # fmt: skip
                ratios.append(ours / base)
                print(f"throughput ratio: {ours / base:.3f}x of the bare endpoint (target >= 0.3x)")
            if len(ratios) > 1:
                print(f"median ratio over {len(ratios)} rounds: {statistics.median(ratios):.3f}x")
            print(
                f"server RSS: {idle:.0f} MiB idle, {children_rss_mib(advisor.pid):.0f} MiB after load"
                " (all processes; target <= 600 MB per worker)"
            )
        finally:
            for process in (advisor, bare):
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


if __name__ == "__main__":
    main()
