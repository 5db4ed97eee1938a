"""Reads for the courier portal, each scoped to the signed-in person at the query."""

import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, Exists, OuterRef, QuerySet, Subquery, When

from codes.selectors import current_code_of, entry_blocks_in_force, open_holds_of
from orders.models import Order, Shipment
from otpdelivery import sql

from .models import Courier, DeliveryAttempt, PickupPoint, Route, Stop


def courier_for_user(user) -> Courier | None:
    if not user.is_authenticated:
        return None
    return Courier.objects.filter(user=user).first()


def _entry_state(user):
    """Rule 15: whether the stop can take a code at all (the person blocked, the parcel
    held, its code locked), read in the stop's own statement."""
    return {
        "entry_blocked": Exists(entry_blocks_in_force(user=user)),
        "parcel_held": Exists(open_holds_of(OuterRef("shipment"))),
        "code_status": Subquery(current_code_of(OuterRef("shipment")).values("status")[:1]),
    }


# A stop still to do whose parcel has these statuses waits at the depot for operations to
# send it out (shipped, or back after an earlier day's failed attempt): nothing failed here.
_AT_THE_DEPOT = {Shipment.Status.SHIPPED, Shipment.Status.DELIVERY_FAILED}


def as_shown(stops):
    """The stops, each with what the courier's pages show of it besides its own fields.

    A finished stop is the record of the day (rule 14): `point` is the pickup point it was
    bound for when it finished (none: the customer's door), `failed_reason_label` the
    reason recorded there, in words. A stop still to do follows the parcel: `point` is the
    parcel's pickup point now, and `waits_at_depot` says it is not out for delivery yet.
    """
    stops = list(stops)
    for stop in stops:
        finished = stop.is_finished
        stop.point = stop.pickup_point if finished else stop.shipment.pickup_point
        stop.failed_reason_label = (
            DeliveryAttempt.Reason(stop.note).label
            if stop.outcome == Stop.Outcome.FAILED and stop.note
            else ""
        )
        stop.waits_at_depot = not finished and stop.shipment.status in _AT_THE_DEPOT
    return stops


def stops_for_courier(*, user, day: datetime.date) -> QuerySet[Stop]:
    """The stops of the person's own route for `day`, in the order they are driven, each
    with the point it was bound for when it finished and whether it can take a code (rule
    15). A stop moved to another courier stays on the list as the record."""
    return (
        Stop.objects.filter(route__courier__user=user, route__day=day)
        .select_related("shipment__order__customer", "shipment__pickup_point", "pickup_point")
        .annotate(**_entry_state(user))
        .order_by("position")
    )


def stop_for_courier(*, user, day: datetime.date, tracking_number: str) -> QuerySet[Stop]:
    """The parcel's stop on the person's own route for `day` (none for anyone else), with
    what its page shows, for get(): the parcel, its customer and its pickup point, the
    point the stop was bound for when it finished, `entry_blocked` (rule 6), `parcel_held`
    and `code_status` (rule 15). A stop moved to another courier is found too (its outcome
    says so: the page tells the courier why, where a 404 would leave them guessing); when
    the parcel came back to the route after a move, its stop of now comes first. One light
    statement: the route is a subquery, only what the page shows is joined."""
    routes = Route.objects.filter(courier__user=user, day=day)
    return (
        Stop.objects.filter(route__in=routes, shipment__tracking_number=tracking_number)
        .select_related("shipment__order__customer", "shipment__pickup_point", "pickup_point")
        .annotate(**_entry_state(user))
        .order_by(Case(When(outcome=Stop.Outcome.MOVED, then=1), default=0), "-pk")
    )


# The stop page's look-up in SQL written once: the courier's page and every code entry run
# it, and building and compiling stop_for_courier with the ORM costs more CPU than running
# it. It reads the same as stop_for_courier (tests/couriers/test_stop_lookup.py checks);
# other databases use that.
_JOINED = [  # (alias in the SQL, model), in the order of the columns
    ("stop", Stop),
    ("shipment", Shipment),
    ("ordr", Order),
    ("customer", get_user_model()),
    ("point", PickupPoint),
    ("stop_point", PickupPoint),
]
_STOP_SQL = f"""
SELECT
    {sql.columns(_JOINED)},
    EXISTS (
        SELECT 1 FROM codes_entryblock AS block
        WHERE block.user_id = %(user)s AND block.lifted_at IS NULL
    ) AS entry_blocked,
    EXISTS (
        SELECT 1 FROM codes_parcelhold AS hold
        WHERE hold.shipment_id = stop.shipment_id AND hold.released_at IS NULL
    ) AS parcel_held,
    (
        SELECT code.status FROM codes_deliverycode AS code
        WHERE code.shipment_id = stop.shipment_id
        ORDER BY code.issued_at DESC, code.id DESC
        LIMIT 1
    ) AS code_status
FROM couriers_stop AS stop
JOIN orders_shipment AS shipment ON shipment.id = stop.shipment_id
JOIN orders_order AS ordr ON ordr.id = shipment.order_id
JOIN auth_user AS customer ON customer.id = ordr.customer_id
LEFT JOIN couriers_pickuppoint AS point ON point.id = shipment.pickup_point_id
LEFT JOIN couriers_pickuppoint AS stop_point ON stop_point.id = stop.pickup_point_id
WHERE shipment.tracking_number = %(tracking_number)s
    AND stop.route_id IN (
        SELECT route.id FROM couriers_route AS route
        JOIN couriers_courier AS courier ON courier.id = route.courier_id
        WHERE courier.user_id = %(user)s AND route.day = %(day)s
    )
ORDER BY stop.outcome = 'moved', stop.id DESC
LIMIT 1
"""  # noqa: S608 (column names from the models, values as parameters)


def todays_stop_for_courier(*, user, day: datetime.date, tracking_number: str) -> Stop | None:
    """What stop_for_courier(...).first() reads (the stop of now before a moved record of
    the same parcel on the route), or None where it finds nothing."""
    if connection.vendor != "postgresql":
        return stop_for_courier(user=user, day=day, tracking_number=tracking_number).first()
    with connection.cursor() as cursor:
        cursor.execute(_STOP_SQL, {"user": user.pk, "day": day, "tracking_number": tracking_number})
        row = cursor.fetchone()
    if row is None:
        return None
    values = iter(row)
    stop, shipment, order, customer, point, stop_point = sql.instances(_JOINED, values)
    stop.entry_blocked, stop.parcel_held, stop.code_status = values
    order.customer = customer
    shipment.order = order
    shipment.pickup_point = point
    stop.shipment = shipment
    stop.pickup_point = stop_point
    return stop


def active_pickup_points() -> QuerySet[PickupPoint]:
    """The points a parcel can be sent to now."""
    return PickupPoint.objects.filter(is_active=True).order_by("name")
