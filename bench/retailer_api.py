"""`make bench` figures for the retailer API and the webhook sender, kept apart from run.py.

- POST /api/v1/orders: orders created per second over HTTP (gunicorn, production settings),
  against GET /bench/baseline measured the same way in the same run.
- The webhook sender: events delivered per second, one after another as a worker sends
  them (sign, resolve and check the address, POST, record the attempt), to a receiver on
  127.0.0.1.

The load comes from a few Python threads with keep-alive connections; both figures of a
pair are measured with the same client, so their ratio is what counts.
"""

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CLIENT_THREADS = 4
WEBHOOK_EVENTS = 500


def _hammer(port: int, seconds: float, request) -> dict:
    """request(connection, thread, n) -> status; run by each thread for `seconds`."""
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(thread: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        mine, times = {}, []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            status = request(connection, thread, n)
            times.append(time.perf_counter() - started)
            mine[status] = mine.get(status, 0) + 1
            n += 1
        connection.close()
        with lock:
            for status, count in mine.items():
                statuses[status] = statuses.get(status, 0) + count
            latencies.extend(times)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    count = len(latencies)
    return {
        "rps": count / elapsed,
        "requests": count,
        "statuses": statuses,
        "p50_ms": latencies[count // 2] * 1000 if count else 0.0,
        "p99_ms": latencies[min(count - 1, count * 99 // 100)] * 1000 if count else 0.0,
    }


def _get(path: str, cookie: str):
    def request(connection, thread, n):
        connection.request("GET", path, headers={"Cookie": cookie})
        response = connection.getresponse()
        response.read()
        return response.status

    return request


def _post_order(raw_key: str, run_id: str):
    def request(connection, thread, n):
        body = json.dumps(
            {
                "reference": f"BENCH-{run_id}-{thread}-{n}",
                "customer": {"email": f"bench-{thread}-{n % 50}@example.com", "name": "Bench"},
                "delivery_address": "Via Roma 1\n00184 Roma RM",
                "items": [{"name": "Camera", "unit_price": "650.00"}],
            }
        )
        connection.request(
            "POST",
            "/api/v1/orders",
            body=body,
            headers={"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        response.read()
        return response.status

    return request


def _describe(name: str, figures: dict) -> str:
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(figures["statuses"].items()))
    return (
        f"  {name:<24} {figures['rps']:8.1f} req/s   p50 {figures['p50_ms']:7.2f} ms"
        f"   p99 {figures['p99_ms']:7.2f} ms   ({figures['requests']} requests; HTTP {statuses})"
    )


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def bench_retailer_api(
    *, say, step, port: int, seconds: float, start_server, stop_server, log, baseline_cookie: str
):
    """Both figures, printed with `say`. Needs Django set up and the bench's database.
    `baseline_cookie` signs the baseline's requests in (unsigned, it answers a redirect to
    the sign-in page, which is no yardstick)."""
    import os
    import secrets

    from django.conf import settings
    from django.db import transaction

    from orders.models import Shipment
    from retailers.models import Retailer
    from retailers.services import api_key_create
    from webhooks.models import EventType, WebhookDelivery
    from webhooks.services import (
        webhook_delivery_send,
        webhook_endpoint_create,
        webhook_events_record_many,
    )

    retailer, _ = Retailer.objects.get_or_create(name="Bench Shop")
    _, raw_key = api_key_create(retailer=retailer, name=f"bench {secrets.token_hex(4)}")
    # The bench measures the API, not its throttle.
    os.environ["API_RATE_PER_KEY"] = "1000000/second"
    step("API: POST /api/v1/orders against GET /bench/baseline")
    server = start_server(log)
    try:
        _hammer(port, 2, _get("/bench/baseline", baseline_cookie))  # warm-up
        baseline = _hammer(port, seconds, _get("/bench/baseline", baseline_cookie))
        orders = _hammer(port, seconds, _post_order(raw_key, secrets.token_hex(3)))
    finally:
        stop_server(server)
    say("Retailer API (Python client, 4 threads, keep-alive):")
    say(_describe("GET /bench/baseline", baseline))
    say(_describe("POST /api/v1/orders", orders))
    say(f"  orders per second / baseline: {orders['rps'] / baseline['rps']:.2f}")

    step(f"webhooks: {WEBHOOK_EVENTS} events to a receiver on 127.0.0.1")
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        webhook_endpoint_create(
            retailer=retailer, url=f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
        )
        # The orders the API scenario made, each with as many event types as it takes to
        # have WEBHOOK_EVENTS events (fewer orders on a slow machine).
        shipments = list(Shipment.objects.filter(order__retailer=retailer)[:WEBHOOK_EVENTS])
        ids = []
        for event_type in EventType if shipments else []:
            with transaction.atomic():
                deliveries = webhook_events_record_many(shipments=shipments, type=event_type)
            ids += [delivery.pk for delivery in deliveries]
            if len(ids) >= WEBHOOK_EVENTS:
                break
        extra = ids[WEBHOOK_EVENTS:]
        ids = ids[:WEBHOOK_EVENTS]
        WebhookDelivery.objects.filter(pk__in=extra).delete()
        started = time.perf_counter()
        delivered = sum(bool(webhook_delivery_send(delivery_id=pk)) for pk in ids)
        elapsed = time.perf_counter() - started
    finally:
        receiver.shutdown()
        receiver.server_close()
    WebhookDelivery.objects.filter(pk__in=ids).delete()
    say(
        f"Webhook sender: {delivered} of {len(ids)} events delivered in {elapsed:.1f} s,"
        f" {delivered / elapsed:.0f} events/s from one worker process"
        f" ({elapsed / max(len(ids), 1) * 1000:.1f} ms each: sign, check the address, POST,"
        " record the attempt)"
    )
