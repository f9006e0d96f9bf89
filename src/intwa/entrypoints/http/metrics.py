"""`GET /metrics` (and `HEAD`): this worker process's counters in Prometheus' text format.

The counters are plain numbers kept where things happen (`HttpStats`, `CountingProvider`, `Snapshots`,
`ApplyWebhook`, `BackgroundSync`) and turned into metric families only when Prometheus scrapes, so
counting costs the hot path next to nothing. Each worker process counts for itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from litestar import Response
from litestar.di import NamedDependency
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import CollectorRegistry

from intwa.adapters.provider.counting import CALLS, OUTCOMES, CountingProvider
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import BackgroundSync
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.entrypoints.http.access import DURATION_BUCKETS, HttpStats
from intwa.entrypoints.http.health import get_and_head
from intwa.entrypoints.http.services import Services

# The process's CPU, memory, file descriptors and start time, Python's GC and version, as usual.
_RUNTIME = CollectorRegistry()
ProcessCollector(registry=_RUNTIME)
GCCollector(registry=_RUNTIME)
PlatformCollector(registry=_RUNTIME)


class Scrape:
    """The metric families of one scrape, read from the counters as they are now."""

    def __init__(
        self,
        http: HttpStats,
        provider: CountingProvider,
        snapshots: Snapshots,
        webhooks: ApplyWebhook,
        sync: BackgroundSync,
    ) -> None:
        self._http = http
        self._provider = provider
        self._snapshots = snapshots
        self._webhooks = webhooks
        self._sync = sync

    def collect(self) -> Iterator[Metric]:
        yield from self._http_families()
        yield self._provider_calls()
        yield self._snapshot_reads()
        yield self._webhook_events()
        yield from self._background_sync()
        yield from _RUNTIME.collect()

    def _http_families(self) -> Iterable[Metric]:
        requests = CounterMetricFamily(
            "intwa_http_requests",
            "HTTP requests by route template, method, HTTP status and envelope code (empty: no envelope).",
            labels=("route", "method", "status", "code"),
        )
        for (route, method, status, code), count in sorted(self._http.requests.items(), key=str):
            requests.add_metric((route, method, str(status), "" if code is None else str(code)), count)
        durations = HistogramMetricFamily(
            "intwa_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by route template.",
            labels=("route",),
        )
        bounds = [*(f"{bound:g}" for bound in DURATION_BUCKETS), "+Inf"]
        for route, histogram in sorted(self._http.durations.items()):
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, histogram.counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            durations.add_metric((route,), buckets, histogram.sum)
        return (requests, durations)

    def _provider_calls(self) -> Metric:
        calls = CounterMetricFamily(
            "intwa_provider_calls",
            "Calls to the provider (Meta's Graph API or the fake) by call and outcome; retries are inside a call.",
            labels=("call", "outcome"),
        )
        for call in CALLS:
            for outcome in OUTCOMES:
                calls.add_metric((call, outcome), self._provider.calls[call, outcome])
        return calls

    def _snapshot_reads(self) -> Metric:
        reads = CounterMetricFamily(
            "intwa_snapshot_cache",
            "phoneInfo and wabaInfo snapshot reads: hit (younger than the TTL), miss (refreshed from the "
            "provider, or its error), stale (older, served while the provider cannot answer).",
            labels=("result",),
        )
        reads.add_metric(("hit",), self._snapshots.hits)
        reads.add_metric(("miss",), self._snapshots.misses)
        reads.add_metric(("stale",), self._snapshots.stale_hits)
        return reads

    def _webhook_events(self) -> Metric:
        events = CounterMetricFamily(
            "intwa_webhook_events",
            "Changes received in signed webhook posts, by field (`other`: fields intwa does not handle).",
            labels=("field",),
        )
        for field in self._webhooks.fields:
            events.add_metric((field,), self._webhooks.events[field])
        return events

    def _background_sync(self) -> Iterable[Metric]:
        sync = self._sync
        return (
            CounterMetricFamily("intwa_background_sync_runs", "Rounds of the background sync.", sync.rounds),
            CounterMetricFamily(
                "intwa_background_sync_refreshes", "WABAs the background sync refreshed.", sync.refreshes
            ),
            CounterMetricFamily(
                "intwa_background_sync_failures", "Refreshes of the background sync that failed.", sync.failures
            ),
            CounterMetricFamily(
                "intwa_background_sync_skips",
                "WABAs the background sync skipped: fresh, paused by Meta's rate limit, or claimed elsewhere.",
                sync.skips,
            ),
        )


@get_and_head(
    "/metrics",
    media_type=CONTENT_TYPE_PLAIN_0_0_4,
    summary="Prometheus metrics of the worker process that answers",
    tags=["operations"],
)
async def metrics(services: NamedDependency[Services]) -> Response[bytes]:
    """This worker's counters in Prometheus' text format; no key needed, like the probes."""
    scrape = Scrape(
        services.http_stats, services.provider, services.snapshots, services.apply_webhook, services.background_sync
    )
    return Response(generate_latest(scrape), media_type=CONTENT_TYPE_PLAIN_0_0_4)
