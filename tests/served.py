"""``finadvisor serve --workers N`` as a real process, and which worker answered a connection.

``Served`` starts the command on a free port of 127.0.0.1 with the environment it is given,
waits until every worker has finished its start-up, and stops it with SIGTERM (a restart keeps
the data directory and the shared state). ``Served.request`` sends one request on a connection of
its own and reports the worker process that accepted it, read from /proc: the accepted socket is
in exactly one worker's file table, found by its inode in /proc/net/tcp.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .helpers import free_port

FINADVISOR = Path(sys.executable).with_name("finadvisor")
START_SECONDS = 600.0  # two workers load the advisor on 2 shared cores; generous on purpose
STARTED = "Application startup complete."


@dataclass(frozen=True)
class Answer:
    """One response and the pid of the worker that produced it."""

    status: int
    headers: dict[str, str]
    body: bytes
    worker: int

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def copy_index(shipped_data_dir: Path, data_dir: Path) -> Path:
    """A fresh data directory holding a copy of the already-built shipped index."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(shipped_data_dir / "index", data_dir / "index")
    return data_dir


class Served:
    """A running ``finadvisor serve`` with several workers."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.env, self.log, self.workers = env, log, workers
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        """Start the server and wait until each worker says its start-up is complete."""
        already = self._started_lines()
        command = [str(FINADVISOR), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(self.workers)]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

        deadline = time.monotonic() + START_SECONDS
        while self._started_lines() < already + self.workers:
            if self.process.poll() is not None:
                raise AssertionError(f"finadvisor serve exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"finadvisor serve did not start:\n{self.tail()}")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM), and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Served:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def tail(self, lines: int = 40) -> str:
        """The end of the server's output (for failure messages)."""
        text = self.log.read_text("utf-8", "replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _started_lines(self) -> int:
        if not self.log.exists():
            return 0
        return self.log.read_text("utf-8", "replace").count(STARTED)

    def worker_pids(self) -> set[int]:
        """The server's worker processes (the children uvicorn spawned to serve)."""
        assert self.process is not None
        children = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                command = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"multiprocessing.spawn" in command:
                children.add(int(entry))  # a worker, not multiprocessing's resource tracker
        return children

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request on a new connection; the answer and the worker that gave it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            payload = response.read()
            assert connection.sock is not None
            worker = self._worker_of(int(connection.sock.getsockname()[1]))
            return Answer(response.status, {k.lower(): v for k, v in response.getheaders()},
                          payload, worker)  # fmt: skip
        finally:
            connection.close()

    def _worker_of(self, client_port: int) -> int:
        """The worker holding the server side of the connection from ``client_port``."""
        inode = _accepted_inode(self.port, client_port)
        target = f"socket:[{inode}]"
        for pid in self.worker_pids():
            try:
                descriptors = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for descriptor in descriptors:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{descriptor}") == target:
                        return pid
                except OSError:
                    continue
        raise AssertionError(f"no worker holds the connection from port {client_port}")


def _accepted_inode(server_port: int, client_port: int) -> str:
    """The inode of the server-side socket of an established loopback connection."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
        if (
            state == "01"
            and int(local.rsplit(":", 1)[1], 16) == server_port
            and int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            return inode
    raise AssertionError(f"no established connection {client_port} -> {server_port}")
