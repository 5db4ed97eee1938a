"""Prometheus metrics: request counts and durations from the web processes, and our own
figures read from the database at scrape time.

Why two sources: several gunicorn workers and Celery workers run at once, and a counter
kept in one process's memory sees only that process. Our own figures (code entries by
outcome, emails, webhook deliveries, the day-end sweep, alerts) are therefore counted in
the database when Prometheus scrapes, so every process answers the same, restarts lose
nothing, and workers need no metrics server. Request metrics can only be counted where
the request runs: with PROMETHEUS_MULTIPROC_DIR set (as `make serve` does), each gunicorn
worker writes them to files in that folder and the scrape adds them up; without it (the
development server, one process) they stay in memory.

No metric carries a code, a tracking number or anything about a person: every label is
one of a fixed set of values (an outcome, a status, a kind, an HTTP method, a view name).
"""

import datetime
import os
import time

from django.db.models import Count, Min, Q
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.models import Alert
from codes.models import CodeEmail, CodeEntry
from monitoring.models import TaskRun
from monitoring.selectors import last_task_run
from orders.models import Shipment

from .optional import optional_model

# --- Requests ---------------------------------------------------------------------------------

REQUESTS = Counter(
    "otp_http_requests",
    "HTTP requests answered, by method, view and status code.",
    ["method", "view", "status"],
)
REQUEST_DURATION = Histogram(
    "otp_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and view.",
    ["method", "view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    """Counts every request by its URL pattern's name, never by its path: paths hold
    tracking numbers and sign-in tokens, and would make a new series for each parcel."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        REQUEST_DURATION.labels(method=method, view=view).observe(time.perf_counter() - start)
        REQUESTS.labels(method=method, view=view, status=str(response.status_code)).inc()
        return response


# --- Our own figures, from the database ---------------------------------------------------------


def _waiting_age(oldest: datetime.datetime | None, now: datetime.datetime) -> float:
    return max((now - oldest).total_seconds(), 0.0) if oldest else 0.0


def _deliveries(prefix: str, what: str, rows: dict, now: datetime.datetime):
    """sent / failed counters and waiting gauges for emails or webhook deliveries."""
    sent = CounterMetricFamily(f"{prefix}_sent", f"{what} sent.")
    sent.add_metric([], rows["sent"])
    failed = CounterMetricFamily(f"{prefix}_failed", f"{what} given up after every retry.")
    failed.add_metric([], rows["failed"])
    waiting = GaugeMetricFamily(f"{prefix}_waiting", f"{what} not sent yet and not given up.")
    waiting.add_metric([], rows["waiting"])
    oldest = GaugeMetricFamily(
        f"{prefix}_oldest_waiting_seconds",
        f"Age of the oldest of the {what.lower()} waiting (0 when none waits).",
    )
    oldest.add_metric([], _waiting_age(rows["oldest"], now))
    return [sent, failed, waiting, oldest]


def _code_emails(now: datetime.datetime):
    waiting = Q(sent_at__isnull=True, failed_at__isnull=True)
    rows = CodeEmail.objects.aggregate(
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        failed=Count("pk", filter=Q(sent_at__isnull=True, failed_at__isnull=False)),
        waiting=Count("pk", filter=waiting),
        oldest=Min("requested_at", filter=waiting),
    )
    return _deliveries("otp_code_emails", "Code emails", rows, now)


def _webhook_deliveries(now: datetime.datetime):
    """Read from the webhooks app when it is installed (a delivery is `pending` until it
    `succeeded` or was `failed`, given up); nothing when it is not."""
    delivery = optional_model("webhooks", "WebhookDelivery")
    if delivery is None:
        return []
    waiting = Q(status="pending")
    rows = delivery.objects.aggregate(
        sent=Count("pk", filter=Q(status="succeeded")),
        failed=Count("pk", filter=Q(status="failed")),
        waiting=Count("pk", filter=waiting),
        oldest=Min("created_at", filter=waiting),
    )
    return _deliveries("otp_webhook_deliveries", "Webhook deliveries", rows, now)


def _code_entries():
    counts = dict(CodeEntry.objects.values_list("outcome").annotate(count=Count("pk")))
    family = CounterMetricFamily(
        "otp_code_entries", "Delivery code entries recorded, by outcome.", labels=["outcome"]
    )
    for outcome in CodeEntry.Outcome:
        family.add_metric([outcome.value], counts.get(outcome.value, 0))
    return [family]


def _shipments():
    counts = dict(Shipment.objects.values_list("status").annotate(count=Count("pk")))
    family = GaugeMetricFamily("otp_shipments", "Parcels by current status.", labels=["status"])
    for status in Shipment.Status:
        family.add_metric([status.value], counts.get(status.value, 0))
    return [family]


def _day_end_sweep():
    run = last_task_run(task=TaskRun.Task.DAY_END_SWEEP)
    last = GaugeMetricFamily(
        "otp_day_end_sweep_last_run_timestamp_seconds",
        "When the last day-end sweep started (Unix time; 0 if it never ran).",
    )
    duration = GaugeMetricFamily(
        "otp_day_end_sweep_duration_seconds", "How long the last day-end sweep took."
    )
    rows = GaugeMetricFamily(
        "otp_day_end_sweep_rows", "Codes expired and parcels rescheduled by the last sweep."
    )
    last.add_metric([], run.started_at.timestamp() if run else 0)
    duration.add_metric([], run.duration_seconds if run else 0)
    rows.add_metric([], run.rows if run else 0)
    return [last, duration, rows]


def _open_alerts():
    counts = dict(
        Alert.objects.filter(resolved_at__isnull=True)
        .values_list("kind")
        .annotate(count=Count("pk"))
    )
    family = GaugeMetricFamily(
        "otp_alerts_open", "Alerts waiting for a person in operations, by kind.", labels=["kind"]
    )
    for kind in Alert.Kind:
        family.add_metric([kind.value], counts.get(kind.value, 0))
    return [family]


class DatabaseCollector(Collector):
    def __init__(self, *, now: datetime.datetime):
        self.now = now

    def collect(self):
        yield from _code_entries()
        yield from _code_emails(self.now)
        yield from _webhook_deliveries(self.now)
        yield from _day_end_sweep()
        yield from _open_alerts()
        yield from _shipments()


def _request_registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition(*, now: datetime.datetime) -> tuple[bytes, str]:
    """The text Prometheus reads: request metrics, then our own from the database."""
    ours = CollectorRegistry(auto_describe=False)
    ours.register(DatabaseCollector(now=now))
    return generate_latest(_request_registry()) + generate_latest(ours), CONTENT_TYPE_LATEST
