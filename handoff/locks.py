"""The row locks of the hand-over layer, always taken in one order: the person acting,
then the parcel, then its codes (then the route, to append a stop). Every service takes
them through these helpers, so no two services can wait on each other in a cycle.

Locks are FOR NO KEY UPDATE: they serialise the services on the row, but do not conflict
with the KEY SHARE lock PostgreSQL takes on a row that a new row references (an event's
actor, a code's parcel), so writing a row that points at a locked person or parcel never
waits on it.
"""

from django.contrib.auth import get_user_model
from django.db import connection

from codes.models import DeliveryCode
from couriers.models import PickupPoint, Route
from orders.models import Order, Shipment
from otpdelivery import sql


def lock_person(user) -> None:
    """First: the person acting (a courier, an operator, operations). Their row is the one
    every entry by them shares, whatever the parcel, so their per-person count of wrong
    codes is exact however many requests race (rule 6)."""
    if user is None:
        return
    if connection.vendor == "postgresql":
        # Every service takes this lock: SQL written once costs less than the ORM's query.
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_PERSON_SQL, [user.pk])
            if cursor.fetchone() is None:
                raise get_user_model().DoesNotExist(f"No person {user.pk}.")
        return
    get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk).values_list(
        "pk"
    ).get()


def lock_shipment(shipment_id: int) -> Shipment:
    """Second: the parcel, read again under its lock (its state is the one to act on), with
    its order and pickup point."""
    if connection.vendor == "postgresql":
        # In SQL written once, like lock_person; tests/handoff/test_locks.py checks that it
        # reads what the ORM's version below reads.
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SHIPMENT_SQL, [shipment_id])
            row = cursor.fetchone()
        if row is None:
            raise Shipment.DoesNotExist(f"No shipment {shipment_id}.")
        shipment, order, point = sql.instances(_SHIPMENT_JOINED, iter(row))
        shipment.order = order
        shipment.pickup_point = point
        return shipment
    return lock_shipment_with_orm(shipment_id)


def lock_shipment_with_orm(shipment_id: int) -> Shipment:
    return (
        Shipment.objects.select_for_update(no_key=True, of=("self",))
        .select_related("order", "pickup_point")
        .get(pk=shipment_id)
    )


_LOCK_PERSON_SQL = (
    f"SELECT 1 FROM {connection.ops.quote_name(get_user_model()._meta.db_table)}"  # noqa: S608
    " WHERE id = %s FOR NO KEY UPDATE"
)
_SHIPMENT_JOINED = [("shipment", Shipment), ("ordr", Order), ("point", PickupPoint)]
_LOCK_SHIPMENT_SQL = f"""
SELECT {sql.columns(_SHIPMENT_JOINED)}
FROM orders_shipment AS shipment
JOIN orders_order AS ordr ON ordr.id = shipment.order_id
LEFT JOIN couriers_pickuppoint AS point ON point.id = shipment.pickup_point_id
WHERE shipment.id = %s
FOR NO KEY UPDATE OF shipment
"""  # noqa: S608 (column names from the models, values as parameters)


def lock_shipments(shipment_ids) -> list[Shipment]:
    """Many parcels, in id order, so that two batches never wait on each other."""
    return list(
        Shipment.objects.select_for_update(no_key=True).filter(pk__in=shipment_ids).order_by("pk")
    )


def lock_codes(shipment: Shipment) -> list[DeliveryCode]:
    """Third: the parcel's codes, newest first."""
    return list(
        DeliveryCode.objects.select_for_update(no_key=True)
        .filter(shipment=shipment)
        .order_by("-issued_at", "-pk")
    )


def lock_route(route_id: int) -> Route:
    """Last: a route, to append a stop at its end."""
    return Route.objects.select_for_update(no_key=True).get(pk=route_id)
