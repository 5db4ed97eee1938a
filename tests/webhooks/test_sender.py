"""The webhook sender holds no row lock while a retailer's server answers: it claims the
delivery in one short transaction (in flight until a lease ends), calls outside any, and
records the attempt in another. Two workers never send the same attempt; a worker that
dies mid-call leaves the delivery to be sent again once its lease has passed."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection, transaction

from retailers.models import Retailer
from tests.conftest import race
from webhooks import network
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import (
    due_webhook_delivery_ids,
    in_flight_lease,
    webhook_delivery_send,
    webhook_endpoint_create,
)
from webhooks.tasks import send_due_webhooks

# Bounds on waiting for another thread, so that a broken sender fails the test instead of
# hanging it; never a measure of speed.
WAIT_SECONDS = 20


class HeldReceiver:
    """A receiver on 127.0.0.1 that holds each request until the test lets it answer."""

    def __init__(self):
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(self.headers["webhook-id"])
                receiver.arrived.release()
                receiver.release.wait(WAIT_SECONDS)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def held_receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = WAIT_SECONDS
    receiver = HeldReceiver()
    yield receiver
    receiver.close()


def _pending_delivery(url, now) -> WebhookDelivery:
    endpoint, _ = webhook_endpoint_create(retailer=Retailer.objects.create(name="Shop"), url=url)
    return WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_sender_test",
        event_type="shipment.shipped",
        body='{"type":"shipment.shipped"}',
        created_at=now,
        next_attempt_at=now,
    )


def _send_in_a_worker(delivery_id, results):
    def work():
        try:
            results.append(webhook_delivery_send(delivery_id=delivery_id))
        finally:
            connection.close()

    worker = threading.Thread(target=work)
    worker.start()
    return worker


@pytest.mark.django_db(transaction=True)
def test_no_row_lock_is_held_while_the_retailer_answers(postgresql_only, held_receiver, frozen_now):
    delivery = _pending_delivery(held_receiver.url, frozen_now)
    results = []
    worker = _send_in_a_worker(delivery.pk, results)
    assert held_receiver.arrived.acquire(timeout=WAIT_SECONDS)

    # The POST is waiting for its answer: another connection locks and updates the row.
    with transaction.atomic():
        in_flight = WebhookDelivery.objects.select_for_update(nowait=True).get(pk=delivery.pk)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_status_code=None)
    assert in_flight.in_flight_until == frozen_now + in_flight_lease()
    assert in_flight.attempts == 0

    held_receiver.release.set()
    worker.join(WAIT_SECONDS)
    assert results == [True]
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.in_flight_until is None


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_does_not_send_what_the_first_is_sending(
    postgresql_only, held_receiver, frozen_now
):
    delivery = _pending_delivery(held_receiver.url, frozen_now)
    first, second = [], []
    sending = _send_in_a_worker(delivery.pk, first)
    assert held_receiver.arrived.acquire(timeout=WAIT_SECONDS)

    _send_in_a_worker(delivery.pk, second).join(WAIT_SECONDS)
    assert second == [None]

    held_receiver.release.set()
    sending.join(WAIT_SECONDS)
    assert first == [True]
    assert held_receiver.requests == [delivery.message_id]
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 1


@pytest.mark.django_db(transaction=True)
def test_workers_at_once_send_a_delivery_once(postgresql_only, held_receiver, frozen_now):
    delivery = _pending_delivery(held_receiver.url, frozen_now)
    held_receiver.release.set()  # answer at once

    results, errors = race(lambda _: webhook_delivery_send(delivery_id=delivery.pk), 8)

    assert errors == []
    assert sorted(results, key=str) == [None] * 7 + [True]
    assert held_receiver.requests == [delivery.message_id]
    delivery.refresh_from_db()
    assert delivery.attempts == 1


class WorkerKilled(BaseException):
    """A worker process ending mid-call (killed, out of memory): nothing after it runs."""


@pytest.mark.django_db
def test_a_worker_dying_mid_call_leaves_the_delivery_to_be_sent_after_its_lease(
    receiver, frozen_now, time_machine, monkeypatch
):
    delivery = _pending_delivery(receiver.url, frozen_now)
    real_post = network.post

    def dies(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(network, "post", dies)
    with pytest.raises(WorkerKilled):
        webhook_delivery_send(delivery_id=delivery.pk)
    monkeypatch.setattr(network, "post", real_post)

    # Until the lease ends nobody sends it: the dead worker might still have been sending.
    assert webhook_delivery_send(delivery_id=delivery.pk) is None
    assert due_webhook_delivery_ids(now=frozen_now) == []
    assert receiver.requests == []

    time_machine.move_to(frozen_now + in_flight_lease(), tick=False)
    assert send_due_webhooks() == 1

    (headers, _body) = receiver.requests[0]
    assert headers["webhook-id"] == delivery.message_id
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1


@pytest.mark.django_db
def test_a_worker_back_after_its_lease_ran_out_does_not_overwrite_the_outcome(
    receiver, frozen_now, time_machine, monkeypatch
):
    delivery = _pending_delivery(receiver.url, frozen_now)
    real_post = network.post
    later = frozen_now + in_flight_lease()

    def slow_then_500(*args, **kwargs):
        # While the first worker waits, its lease runs out and another worker delivers.
        time_machine.move_to(later, tick=False)
        monkeypatch.setattr(network, "post", real_post)
        assert webhook_delivery_send(delivery_id=delivery.pk) is True
        return 500

    monkeypatch.setattr(network, "post", slow_then_500)
    webhook_delivery_send(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    # Both attempts were made, so both are on the record.
    assert sorted(WebhookAttempt.objects.values_list("status_code", flat=True)) == [200, 500]


@pytest.mark.django_db
def test_a_receiver_answering_a_byte_at_a_time_is_cut_off(settings, frozen_now):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    listener = socket.create_server(("127.0.0.1", 0))

    def drip():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in answer:  # each byte within the socket timeout, the whole far past it
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.1)

    dripping = threading.Thread(target=drip, daemon=True)
    dripping.start()
    delivery = _pending_delivery(f"http://127.0.0.1:{listener.getsockname()[1]}/", frozen_now)

    assert webhook_delivery_send(delivery_id=delivery.pk) is False

    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error
    dripping.join(WAIT_SECONDS)
    listener.close()
