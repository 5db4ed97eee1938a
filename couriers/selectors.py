"""Reads for the courier portal, each scoped to the signed-in person at the query."""

import datetime

from django.db.models import Exists, OuterRef, QuerySet, Subquery

from codes.selectors import current_code_of, entry_blocks_in_force, open_holds_of
from orders.days import end_of_day

from .models import Courier, DeliveryAttempt, PickupPoint, Route, Stop


def courier_for_user(user) -> Courier | None:
    if not user.is_authenticated:
        return None
    return Courier.objects.filter(user=user).first()


def _failed_here(day: datetime.date):
    """The reason of the failed attempt the route's courier recorded at this stop on its
    day, if any: the stop was then a door (rule 14), whatever the parcel became since."""
    attempts = DeliveryAttempt.objects.filter(
        shipment=OuterRef("shipment"),
        courier=OuterRef("route__courier"),
        created_at__gte=end_of_day(day - datetime.timedelta(days=1)),
        created_at__lt=end_of_day(day),
    ).order_by("-created_at")
    return Subquery(attempts.values("reason")[:1])


def with_failed_reason_label(stops):
    """The stops, each with `failed_reason_label` (the attempt's reason in words, or "")."""
    stops = list(stops)
    for stop in stops:
        reason = stop.failed_reason
        stop.failed_reason_label = DeliveryAttempt.Reason(reason).label if reason else ""
    return stops


def stops_for_courier(*, user, day: datetime.date) -> QuerySet[Stop]:
    """The stops of the person's own route for `day`, in the order they are driven, each
    with `failed_reason` when the courier's attempt there failed."""
    return (
        Stop.objects.filter(route__courier__user=user, route__day=day)
        .select_related(
            "shipment__order__customer", "shipment__delivered_by", "shipment__pickup_point"
        )
        .annotate(failed_reason=_failed_here(day))
        .order_by("position")
    )


def stop_for_courier(*, user, day: datetime.date, tracking_number: str) -> QuerySet[Stop]:
    """The parcel's stop on the person's own route for `day` (none for anyone else), with
    what its page shows, for get(): the parcel, its customer and its pickup point,
    `entry_blocked` (rule 6), `parcel_held` and `code_status` (rule 15). One light
    statement: the route is a subquery, only what the page shows is joined, nothing is
    sorted."""
    routes = Route.objects.filter(courier__user=user, day=day)
    return (
        Stop.objects.filter(route__in=routes, shipment__tracking_number=tracking_number)
        .select_related("shipment__order__customer", "shipment__pickup_point")
        .annotate(
            entry_blocked=Exists(entry_blocks_in_force(user=user)),
            # Rule 15: whether the parcel can take a code at all, so that the page offers
            # no field when it cannot.
            parcel_held=Exists(open_holds_of(OuterRef("shipment"))),
            code_status=Subquery(current_code_of(OuterRef("shipment")).values("status")[:1]),
            failed_reason=_failed_here(day),
        )
    )


def active_pickup_points() -> QuerySet[PickupPoint]:
    """The points a parcel can be sent to now."""
    return PickupPoint.objects.filter(is_active=True).order_by("name")
