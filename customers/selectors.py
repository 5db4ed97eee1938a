"""Reads for the customer portal worth naming, each scoped to the signed-in customer."""

import datetime

from django.contrib.auth import get_user_model
from django.db import connection

from codes.models import DeliveryCode
from codes.selectors import with_visible_code
from couriers.models import PickupPoint
from orders.models import Order, Shipment, TrackingEvent
from orders.selectors import shipments_for_customer

_JOINED = [  # (alias in the SQL, model), in the order of the columns
    ("shipment", Shipment),
    ("ordr", Order),
    ("deliverer", get_user_model()),
    ("point", PickupPoint),
]
_JOINED_COLUMNS = ", ".join(
    f"{alias}.{field.column}" for alias, model in _JOINED for field in model._meta.concrete_fields
)
# The parcel with its order, who handed it over, its pickup point and its usable code (a
# parcel has at most one active code: a unique index says so).
_TRACKED_SQL = f"""
SELECT {_JOINED_COLUMNS}, code.code_encrypted, code.delivery_day, code.valid_until
FROM orders_shipment AS shipment
JOIN orders_order AS ordr ON ordr.id = shipment.order_id
LEFT JOIN auth_user AS deliverer ON deliverer.id = shipment.delivered_by_id
LEFT JOIN couriers_pickuppoint AS point ON point.id = shipment.pickup_point_id
LEFT JOIN codes_deliverycode AS code
    ON code.shipment_id = shipment.id AND code.status = %(active)s AND code.valid_until > %(now)s
WHERE shipment.tracking_number = %(tracking_number)s AND ordr.customer_id = %(customer)s
"""  # noqa: S608 (column names from the models, values as parameters)
_EVENT_COLUMNS = [field.column for field in TrackingEvent._meta.concrete_fields]
_TIMELINE_SQL = f"""
SELECT {", ".join(_EVENT_COLUMNS)} FROM orders_trackingevent
WHERE shipment_id = %s ORDER BY created_at, id
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
        shipment, order, deliverer, point = (_from_row(model, values) for _alias, model in _JOINED)
        cursor.execute(_TIMELINE_SQL, [shipment.pk])
        timeline = [
            TrackingEvent.from_db(
                connection.alias,
                [field.attname for field in TrackingEvent._meta.concrete_fields],
                event,
            )
            for event in cursor.fetchall()
        ]
    (
        shipment.visible_code_encrypted,
        shipment.visible_code_delivery_day,
        shipment.visible_code_valid_until,
    ) = values
    shipment.order = order
    shipment.delivered_by = deliverer if deliverer.pk is not None else None
    shipment.pickup_point = point if point.pk is not None else None
    shipment.timeline = timeline
    return shipment


def _from_row(model, values):
    fields = model._meta.concrete_fields
    return model.from_db(
        connection.alias, [field.attname for field in fields], [next(values) for _ in fields]
    )


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
