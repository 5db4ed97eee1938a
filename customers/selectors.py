"""Reads for the customer portal worth naming, each scoped to the signed-in customer."""

import datetime

from django.contrib.auth import get_user_model
from django.db import connection

from codes.models import DeliveryCode
from codes.selectors import with_visible_code
from couriers.models import PickupPoint
from orders.models import Order, Shipment, TrackingEvent
from orders.selectors import shipments_for_customer
from otpdelivery import sql

_JOINED = [  # (alias in the SQL, model), in the order of the columns
    ("shipment", Shipment),
    ("ordr", Order),
    ("deliverer", get_user_model()),
    ("point", PickupPoint),
]
# The parcel with its order, who handed it over, its pickup point and its usable code (a
# parcel has at most one active code: a unique index says so).
_TRACKED_SQL = f"""
SELECT {sql.columns(_JOINED)}, code.code_encrypted, code.delivery_day, code.valid_until
FROM orders_shipment AS shipment
JOIN orders_order AS ordr ON ordr.id = shipment.order_id
LEFT JOIN auth_user AS deliverer ON deliverer.id = shipment.delivered_by_id
LEFT JOIN couriers_pickuppoint AS point ON point.id = shipment.pickup_point_id
LEFT JOIN codes_deliverycode AS code
    ON code.shipment_id = shipment.id AND code.status = %(active)s AND code.valid_until > %(now)s
WHERE shipment.tracking_number = %(tracking_number)s AND ordr.customer_id = %(customer)s
"""  # noqa: S608 (column names from the models, values as parameters)
_TIMELINE = [("event", TrackingEvent)]
_TIMELINE_SQL = f"""
SELECT {sql.columns(_TIMELINE)} FROM orders_trackingevent AS event
WHERE event.shipment_id = %s ORDER BY event.created_at, event.id
"""  # noqa: S608 (column names from the model, values as parameters)


def tracked_shipment(*, user, tracking_number: str, now: datetime.datetime) -> Shipment | None:
    """The customer's parcel for Track my package, None when it is not theirs: with its
    usable code still encrypted (for codes.selectors.visible_code_of) and its `timeline`.

    On PostgreSQL in SQL written once (the page customers load most; building and compiling
    the ORM's version cost more CPU than running it); elsewhere tracked_shipment_with_orm,
    which tests/test_tracking_lookup.py checks reads the same."""
    if connection.vendor != "postgresql":
        return tracked_shipment_with_orm(user=user, tracking_number=tracking_number, now=now)
    with connection.cursor() as cursor:
        cursor.execute(
            _TRACKED_SQL,
            {
                "tracking_number": tracking_number,
                "customer": user.pk,
                "active": DeliveryCode.Status.ACTIVE,
                "now": now,
            },
        )
        row = cursor.fetchone()
        if row is None:
            return None
        values = iter(row)
        shipment, order, deliverer, point = sql.instances(_JOINED, values)
        cursor.execute(_TIMELINE_SQL, [shipment.pk])
        timeline = [sql.instances(_TIMELINE, iter(event))[0] for event in cursor.fetchall()]
    (
        shipment.visible_code_encrypted,
        shipment.visible_code_delivery_day,
        shipment.visible_code_valid_until,
    ) = values
    shipment.order = order
    shipment.delivered_by = deliverer
    shipment.pickup_point = point
    shipment.timeline = timeline
    return shipment


def tracked_shipment_with_orm(*, user, tracking_number: str, now) -> Shipment | None:
    """The same read through the ORM."""
    shipment = (
        with_visible_code(shipments_for_customer(user=user), now=now)
        .filter(tracking_number=tracking_number)
        .first()
    )
    if shipment is not None:
        shipment.timeline = list(shipment.events.all())
    return shipment
