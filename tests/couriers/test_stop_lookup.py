"""The stop page's look-up: the SQL on PostgreSQL reads what the ORM's version reads."""

import pytest

from codes.models import DeliveryCode, EntryBlock, ParcelHold
from couriers.models import Stop
from couriers.selectors import stop_for_courier, todays_stop_for_courier
from tests.conftest import FROZEN_NOW, TODAY
from tests.factories import CourierFactory, PickupPointFactory

pytestmark = pytest.mark.django_db


def _given(state, *, shipment, courier):
    """Bring the stop, the parcel or the courier to `state`; whose page is looked at."""
    if state == "failed here":
        point = PickupPointFactory(name="Tabaccheria")
        Stop.objects.filter(shipment=shipment).update(
            outcome="failed", note="not_at_home", pickup_point=point
        )
    elif state == "bound for a pickup point":
        shipment.pickup_point = PickupPointFactory(name="Edicola Centrale")
        shipment.save(update_fields=["pickup_point"])
    elif state == "courier blocked":
        EntryBlock.objects.create(user=courier.user, wrong_entries=10, blocked_at=FROZEN_NOW)
    elif state == "courier's block lifted":
        EntryBlock.objects.create(
            user=courier.user, wrong_entries=10, blocked_at=FROZEN_NOW, lifted_at=FROZEN_NOW
        )
    elif state == "parcel held":
        ParcelHold.objects.create(shipment=shipment, held_at=FROZEN_NOW, wrong_code_entries=10)
    elif state == "code locked":
        DeliveryCode.objects.filter(shipment=shipment).update(status="locked")
    elif state == "moved to another route":
        Stop.objects.filter(shipment=shipment).update(outcome="moved")
    elif state == "another courier looks":
        return CourierFactory().user
    return courier.user


def _fields(row) -> dict:
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def _facts(stop):
    if stop is None:
        return None
    shipment = stop.shipment
    return {
        "stop": _fields(stop),
        "shipment": _fields(shipment),
        "order": _fields(shipment.order),
        "customer": _fields(shipment.order.customer),
        "point": None if shipment.pickup_point is None else _fields(shipment.pickup_point),
        "stop's point": None if stop.pickup_point is None else _fields(stop.pickup_point),
        "annotations": (bool(stop.entry_blocked), bool(stop.parcel_held), stop.code_status),
    }


@pytest.mark.parametrize(
    "state",
    [
        "out for delivery",
        "failed here",
        "bound for a pickup point",
        "courier blocked",
        "courier's block lifted",
        "parcel held",
        "code locked",
        "moved to another route",
        "another courier looks",
    ],
)
def test_the_sql_look_up_reads_what_the_orm_reads(
    postgresql_only, courier, out_for_delivery, state, django_assert_num_queries
):
    # Given a stop, parcel or courier in `state`
    user = _given(state, shipment=out_for_delivery, courier=courier)
    arguments = {"user": user, "day": TODAY, "tracking_number": out_for_delivery.tracking_number}

    # When both look the stop up
    with django_assert_num_queries(1):
        with_sql = _facts(todays_stop_for_courier(**arguments))
    with_orm = _facts(stop_for_courier(**arguments).first())

    # Then they read the same, in one statement, with nothing left to load
    assert with_sql == with_orm
    assert (with_sql is None) == (state == "another courier looks")
