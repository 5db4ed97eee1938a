"""Fixtures shared by the whole suite: frozen time, fixed keys, inline tasks, parcels."""

import datetime
import os
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.urls import reverse

from codes import tokens
from codes.models import DeliveryCode
from handoff.services import (
    shipment_add_to_route,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
)
from otpdelivery.celery import app as celery_app

from .factories import (
    CourierFactory,
    OrderFactory,
    OrderItemFactory,
    PickupPointFactory,
    RouteFactory,
    ShipmentFactory,
    UserFactory,
)

ROME = ZoneInfo("Europe/Rome")
# A Thursday morning in Rome; every test starts here unless it moves the clock.
FROZEN_NOW = datetime.datetime(2026, 11, 26, 10, 0, tzinfo=ROME)
TODAY = FROZEN_NOW.date()

IN_CI = os.environ.get("CI") == "true"


def skip_or_fail(reason: str):
    """A missing service skips the test on a laptop, and fails it in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)


@pytest.fixture
def postgresql_only():
    """Row-lock races are only meaningful on PostgreSQL (SQLite serialises all writes)."""
    if connection.vendor != "postgresql":
        skip_or_fail("Row locks need PostgreSQL (set DATABASE_URL)")


@pytest.fixture(autouse=True)
def frozen_now(time_machine):
    time_machine.move_to(FROZEN_NOW, tick=False)
    return FROZEN_NOW


@pytest.fixture(autouse=True)
def _code_keys(settings):
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.DELIVERY_CODE_HASH_KEY = "test-hash-key-not-for-production"
    settings.DELIVERY_TIME_ZONE = "Europe/Rome"
    # Hashing demo passwords properly is slow and not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_inline():
    """Unit tests run tasks inline; the worker integration test turns this off."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def ops(db):
    return UserFactory(username="ops", is_staff=True, is_superuser=True)


@pytest.fixture
def customer(db):
    return UserFactory(username="alice", first_name="Alice", last_name="Rossi")


@pytest.fixture
def courier(db):
    return CourierFactory(user=UserFactory(username="marco", first_name="Marco"))


@pytest.fixture
def courier_client(client, courier):
    """The test client signed in as the courier."""
    client.force_login(courier.user)
    return client


def stop_url(shipment) -> str:
    """The courier's stop page of the parcel."""
    return reverse("courier_stop", args=[shipment.tracking_number])


@pytest.fixture
def route(courier):
    return RouteFactory(courier=courier, day=TODAY)


def make_valuable_shipment(customer, price="500.00"):
    order = OrderFactory(customer=customer)
    OrderItemFactory(order=order, unit_price=Decimal(price))
    return ShipmentFactory(order=order)


@pytest.fixture
def out_for_delivery(customer, route, ops, django_capture_on_commit_callbacks):
    """A valuable parcel on the courier's route today, its code issued and emailed."""
    shipment = make_valuable_shipment(customer)
    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(route=route, shipment=shipment)
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


@pytest.fixture
def shipped_for_today(customer, ops):
    """A valuable parcel shipped for today, not yet on a route."""
    return shipment_mark_shipped(
        shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
    )


@pytest.fixture
def cheap_out_for_delivery(customer, route, ops):
    shipment = make_valuable_shipment(customer, price="20.00")
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(route=route, shipment=shipment)
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


def out_again_on_its_day(shipment, ops, time_machine):
    """Move the clock to the morning of the parcel's (new) delivery day and send it out:
    a failed attempt already put it on its courier's route for that day."""
    shipment.refresh_from_db()
    time_machine.move_to(
        datetime.datetime.combine(shipment.delivery_day, datetime.time(9, 0), tzinfo=ROME),
        tick=False,
    )
    return shipment_mark_out_for_delivery(shipment=shipment, actor=ops)


def plain_code(shipment) -> str:
    """The parcel's active code, as only its customer would see it."""
    code = DeliveryCode.objects.get(shipment=shipment, status=DeliveryCode.Status.ACTIVE)
    return tokens.decrypt(code.code_encrypted)


def wrong_code_for(shipment) -> str:
    right = plain_code(shipment)
    return next(candidate for candidate in ("135792", "246813", "975310") if candidate != right)


# --- Pickup points ------------------------------------------------------------------------


@pytest.fixture
def operator(db):
    return UserFactory(username="edicola", first_name="Giulia", last_name="Neri")


@pytest.fixture
def pickup_point(operator):
    point = PickupPointFactory(name="Edicola Centrale")
    point.operators.add(operator)
    return point


@pytest.fixture
def other_operator(db):
    return UserFactory(username="tabaccheria", first_name="Luca")


@pytest.fixture
def other_point(other_operator):
    point = PickupPointFactory(name="Tabaccheria Sud")
    point.operators.add(other_operator)
    return point


def make_parcel_at(point, customer, ops, *, price="500.00"):
    """A parcel addressed to `point`, shipped today and received there now."""
    shipment = make_valuable_shipment(customer, price=price)
    shipment.pickup_point = point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    return shipment_receive_at_pickup_point(shipment=shipment, pickup_point=point, actor=ops)


@pytest.fixture
def at_pickup_point(pickup_point, customer, ops, django_capture_on_commit_callbacks):
    """A valuable parcel held at the pickup point, its code emailed to the customer."""
    with django_capture_on_commit_callbacks(execute=True):
        return make_parcel_at(pickup_point, customer, ops)


def race(work, n):
    """Run work(i) in n threads released at once; return (results, errors).

    Each thread closes its own database connection, so PostgreSQL sees n real sessions
    competing for the same rows.
    """
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run(i):
        try:
            barrier.wait()
            results.append(work(i))
        except Exception as error:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
