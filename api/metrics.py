"""Prometheus metrics of the server, scraped at ``GET /metrics`` (text exposition format).

Families (all prefixed ``finadvisor_``):

- ``turns_total{intent, interface}``: answered messages; interface is web, api, sse, openai,
  slack, feishu or dingtalk (``api.request_context.interface_of``);
- ``stage_seconds{stage}``: histogram of each pipeline stage's duration (``bot.pipeline.run``);
- ``http_request_duration_seconds{method, route, status}``: histogram per request, the route
  being the template (``/v1/sessions/{session_id}``), ``unmatched`` for unknown paths;
- ``errors_total{error}``: requests that failed on the server side, by exception class;
- ``rate_limited_total{route}``: requests answered 429;
- ``llm_fallbacks_total{reason}``: turns that kept the template reply although an LLM is
  configured (timeout, error, rejected, over_budget: ``bot.observe.LlmFallback``);
- ``index_chunks``, ``index_documents``: size of the loaded search index;
- with one process, prometheus-client's ``process_*`` figures (RSS, CPU, open files).

Each app has its own registry. With several worker processes (``finadvisor serve --workers N``)
prometheus-client's multiprocess mode is used: ``PROMETHEUS_MULTIPROC_DIR`` is set (under the
data directory) before the workers start, every worker writes its values there, and a scrape of
any worker aggregates all of them (``multiprocess_dir``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bot.observe import LlmFallback
from knowledge.index import SearchIndex

from .deps import require_api_key
from .request_context import current_interface

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                 0.5, 1.0, 2.5, 5.0, 10.0)  # fmt: skip
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0)  # fmt: skip


def multiprocess_dir() -> Path | None:
    """The directory shared by worker processes, when multiprocess mode is on."""
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None


def prepare_multiprocess_dir(path: Path) -> None:
    """Create ``path`` empty (values of an earlier run would count) and select it for workers."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)


class IndexCollector(Collector):
    """The size of the loaded search index, read at scrape time (nothing is built by a scrape)."""

    def __init__(self, index: Callable[[], SearchIndex | None]) -> None:
        self._index = index

    def collect(self) -> Iterable[Metric]:
        """Two gauges: chunks and documents (absent until the index is loaded)."""
        index = self._index()
        if index is None:
            return []
        chunks = index.chunks
        return [
            GaugeMetricFamily(
                "finadvisor_index_chunks", "Chunks in the search index.", len(chunks)
            ),
            GaugeMetricFamily(
                "finadvisor_index_documents",
                "Documents in the search index.",
                len({chunk.doc_id for chunk in chunks}),
            ),
        ]


class Metrics:
    """The app's metric families; also the advisor's ``TurnObserver``."""

    def __init__(self, index: Callable[[], SearchIndex | None] = lambda: None) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir()
        registry = self.registry
        self.turns = Counter("finadvisor_turns", "Answered messages by intent and interface.",
                             ["intent", "interface"], registry=registry)  # fmt: skip
        self.stage_seconds = Histogram("finadvisor_stage_seconds",
                                       "Duration of each pipeline stage.", ["stage"],
                                       buckets=STAGE_BUCKETS, registry=registry)  # fmt: skip
        self.request_seconds = Histogram("finadvisor_http_request_duration_seconds",
                                         "Duration of HTTP requests by method, route and status.",
                                         ["method", "route", "status"], buckets=REQUEST_BUCKETS,
                                         registry=registry)  # fmt: skip
        self.errors = Counter("finadvisor_errors", "Server-side failures by exception class.",
                              ["error"], registry=registry)  # fmt: skip
        self.rate_limited = Counter("finadvisor_rate_limited", "Requests answered 429, by route.",
                                    ["route"], registry=registry)  # fmt: skip
        self.llm_fallbacks = Counter("finadvisor_llm_fallbacks",
                                     "Turns that kept the template reply although an LLM is set.",
                                     ["reason"], registry=registry)  # fmt: skip
        self._index_collector = IndexCollector(index)
        if self.multiprocess is None:  # process_* figures only describe one process
            registry.register(self._index_collector)
            ProcessCollector(registry=registry)
        self._stages: dict[str, Histogram] = {}

    # ---- TurnObserver ---------------------------------------------------------------------------

    def stage_finished(self, stage: str, seconds: float) -> None:
        """Observe one stage's duration."""
        child = self._stages.get(stage)
        if child is None:
            child = self._stages.setdefault(stage, self.stage_seconds.labels(stage))
        child.observe(seconds)

    def turn_finished(self, intent: str, llm_fallback: LlmFallback | None) -> None:
        """Count a turn under the interface of the request that asked for it."""
        self.turns.labels(intent, current_interface()).inc()
        if llm_fallback is not None:
            self.llm_fallbacks.labels(llm_fallback).inc()

    # ---- requests -------------------------------------------------------------------------------

    def request_finished(self, method: str, route: str, status: int, seconds: float) -> None:
        """Observe one HTTP request; a 429 is also counted as a rate-limit rejection."""
        self.request_seconds.labels(method, route, str(status)).observe(seconds)
        if status == 429:
            self.rate_limited.labels(route).inc()

    def error(self, exc: BaseException) -> None:
        """Count a server-side failure by its exception class."""
        self.errors.labels(type(exc).__name__).inc()

    def exposition(self) -> bytes:
        """The text exposition of every family (all workers' values in multiprocess mode)."""
        if self.multiprocess is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, str(self.multiprocess))  # type: ignore[no-untyped-call]
        registry.register(self._index_collector)
        return generate_latest(registry)


router = APIRouter()


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(require_api_key)])
def metrics(request: Request) -> Response:
    """Prometheus text format; needs an API key when ``FINADVISOR_API_KEYS`` is set."""
    app_metrics: Metrics = request.app.state.metrics
    return Response(app_metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
