"""Track my package's look-up: the SQL on PostgreSQL reads what the ORM's version reads."""

import pytest

from codes.models import DeliveryCode
from codes.services import EntryContext
from customers.selectors import tracked_shipment, tracked_shipment_with_orm
from handoff.services import shipment_hand_over_at_door, shipment_record_failed_attempt
from tests.conftest import FROZEN_NOW, make_parcel_at, plain_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(row) -> dict | None:
    if row is None:
        return None
    return {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}


def _facts(shipment):
    if shipment is None:
        return None
    return {
        "shipment": _fields(shipment),
        "order": _fields(shipment.order),
        "delivered_by": _fields(shipment.delivered_by),
        "pickup_point": _fields(shipment.pickup_point),
        "code": (
            shipment.visible_code_encrypted,
            shipment.visible_code_delivery_day,
            shipment.visible_code_valid_until,
        ),
        "timeline": [_fields(event) for event in shipment.timeline],
    }


@pytest.mark.parametrize(
    "state",
    [
        "out for delivery",
        "code no longer valid",
        "failed attempt",
        "delivered",
        "at a pickup point",
        "another customer looks",
    ],
)
def test_the_sql_look_up_reads_what_the_orm_reads(
    postgresql_only,
    customer,
    courier,
    ops,
    out_for_delivery,
    pickup_point,
    state,
    django_assert_num_queries,
):
    # Given a parcel in `state`, and who looks at it
    shipment, user = out_for_delivery, customer
    if state == "code no longer valid":
        DeliveryCode.objects.update(valid_until=FROZEN_NOW)
    elif state == "failed attempt":
        shipment_record_failed_attempt(shipment=shipment, courier=courier, reason="not_at_home")
    elif state == "delivered":
        shipment_hand_over_at_door(
            shipment=shipment,
            raw_code=plain_code(shipment),
            context=EntryContext(user=courier.user),
        )
    elif state == "at a pickup point":
        shipment = make_parcel_at(pickup_point, customer, ops)
    elif state == "another customer looks":
        user = UserFactory(username="mallory")
    arguments = {"user": user, "tracking_number": shipment.tracking_number, "now": FROZEN_NOW}

    # When both look the parcel up
    with django_assert_num_queries(1 if state == "another customer looks" else 2):
        with_sql = _facts(tracked_shipment(**arguments))
    with_orm = _facts(tracked_shipment_with_orm(**arguments))

    # Then they read the same, with nothing left to load
    assert with_sql == with_orm
    assert (with_sql is None) == (state == "another customer looks")
