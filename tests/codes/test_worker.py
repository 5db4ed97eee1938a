"""The real parts together: a Celery worker consuming from Redis sends the code email to
an SMTP server, and the code in it is the one on the tracking page (rules 3 and 12).

These tests need CELERY_BROKER_URL pointing at Redis: on a laptop without it they skip, in
CI they fail. The database is the test database, committed for real (transaction=True),
so the worker's own connection sees what the test wrote.
"""

import contextlib
import email
import re
import socket
import threading
import time
from email.policy import default as default_policy

import pytest
import redis
from aiosmtpd.controller import Controller
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.urls import reverse

from codes.models import CodeEmail
from codes.tasks import queue_unsent_code_emails
from handoff.services import shipment_mark_shipped
from otpdelivery.celery import app as celery_app
from tests.conftest import FROZEN_NOW, TODAY, make_valuable_shipment, skip_or_fail

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 30
# The code as the plain-text email shows it, on a line of its own: "    123 456".
CODE_LINE = re.compile(r"^ {4}(\d{3}) (\d{3})\r?$", re.M)
TRACK_CODE = re.compile(r'data-delivery-code="(\d{6})"')


class Inbox:
    """What the SMTP server received, for the test to wait on."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        with self.arrived:
            self.messages.append((envelope.rcpt_tos, message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int):
        deadline = time.monotonic() + WAIT_SECONDS
        with self.arrived:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"{len(self.messages)} emails arrived within {WAIT_SECONDS}s")
                self.arrived.wait(remaining)
        return self.messages


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_broker():
    url = django_settings.CELERY_BROKER_URL
    if not url.startswith("redis"):
        skip_or_fail("No Redis broker: set CELERY_BROKER_URL=redis://… to run the worker tests")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        skip_or_fail(f"Redis at CELERY_BROKER_URL is not reachable ({error})")
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    # Messages left over by an interrupted earlier run must not be taken for ours.
    celery_app.control.purge()
    yield url
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def inbox(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()


@pytest.fixture
def flowing_time(time_machine):
    # The worker runs on real timers; let the clock run from the frozen instant.
    time_machine.move_to(FROZEN_NOW, tick=True)


@contextlib.contextmanager
def worker():
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=15):
        yield


def _code_in(message) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    first, second = CODE_LINE.search(text).groups()
    return first + second


def _code_on_tracking_page(client, customer, shipment) -> str:
    client.force_login(customer)
    page = client.get(reverse("track", args=[shipment.tracking_number])).content.decode()
    return TRACK_CODE.search(page).group(1)


def test_shipping_emails_through_the_worker_the_code_shown_on_the_tracking_page(
    redis_broker, inbox, flowing_time, client, customer, ops
):
    with worker():
        shipment = shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )
        ((recipients, message),) = inbox.wait_for(1)

    assert recipients == [shipment.order.email]
    assert message.get_body(preferencelist=("html",)) is not None
    assert _code_in(message) == _code_on_tracking_page(client, customer, shipment)
    assert CodeEmail.objects.get(code__shipment=shipment).sent_at is not None


def test_email_queued_while_the_worker_is_stopped_goes_out_when_it_starts(
    redis_broker, inbox, flowing_time, client, customer, ops
):
    # No worker yet: the task waits in Redis.
    shipment = shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
    )
    time.sleep(0.5)
    assert inbox.messages == []

    with worker():
        ((_, message),) = inbox.wait_for(1)

    assert _code_in(message) == _code_on_tracking_page(client, customer, shipment)


def test_email_asked_for_while_redis_was_down_goes_out_once_it_is_back(
    redis_broker, inbox, time_machine, client, customer, ops
):
    # Redis unreachable when the parcel ships: shipping still succeeds, the email waits.
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    try:
        shipment = shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )
    finally:
        celery_app.conf.broker_url = redis_broker
    assert CodeEmail.objects.get(code__shipment=shipment).sent_at is None

    # Redis is back; beat's periodic task queues the unsent email again for the worker.
    time_machine.move_to(FROZEN_NOW.replace(minute=10), tick=True)
    with worker():
        assert queue_unsent_code_emails() == 1
        ((_, message),) = inbox.wait_for(1)

    assert _code_in(message) == _code_on_tracking_page(client, customer, shipment)
