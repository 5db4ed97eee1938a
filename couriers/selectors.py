"""Reads for the courier portal, each scoped to the signed-in person at the query."""

import datetime

from django.db.models import Case, Exists, F, OuterRef, QuerySet, Subquery, When

from codes.selectors import current_code_of, entry_blocks_in_force, open_holds_of

from .models import Courier, DeliveryAttempt, PickupPoint, Route, Stop


def courier_for_user(user) -> Courier | None:
    if not user.is_authenticated:
        return None
    return Courier.objects.filter(user=user).first()


def _failed_here():
    """The reason the stop's courier recorded when the attempt there failed: the stop keeps
    it (rule 14), whatever the parcel became since."""
    return Case(When(outcome=Stop.Outcome.FAILED, then=F("note")), default=None)


def _entry_state(user):
    """Rule 15: whether the stop can take a code at all (the person blocked, the parcel
    held, its code locked), read in the stop's own statement."""
    return {
        "entry_blocked": Exists(entry_blocks_in_force(user=user)),
        "parcel_held": Exists(open_holds_of(OuterRef("shipment"))),
        "code_status": Subquery(current_code_of(OuterRef("shipment")).values("status")[:1]),
    }


def with_failed_reason_label(stops):
    """The stops, each with `failed_reason_label` (the attempt's reason in words, or "")."""
    stops = list(stops)
    for stop in stops:
        reason = stop.failed_reason
        stop.failed_reason_label = DeliveryAttempt.Reason(reason).label if reason else ""
    return stops


def stops_for_courier(*, user, day: datetime.date) -> QuerySet[Stop]:
    """The stops of the person's own route for `day`, in the order they are driven, each
    with `failed_reason` when the courier's attempt there failed and whether it can take a
    code (rule 15). A stop moved to another courier stays on the list as the record."""
    return (
        Stop.objects.filter(route__courier__user=user, route__day=day)
        .select_related(
            "shipment__order__customer", "shipment__delivered_by", "shipment__pickup_point"
        )
        .annotate(failed_reason=_failed_here(), **_entry_state(user))
        .order_by("position")
    )


def stop_for_courier(*, user, day: datetime.date, tracking_number: str) -> QuerySet[Stop]:
    """The parcel's stop on the person's own route for `day` (none for anyone else), with
    what its page shows, for get(): the parcel, its customer and its pickup point,
    `entry_blocked` (rule 6), `parcel_held` and `code_status` (rule 15). A stop moved to
    another courier is found too (its outcome says so: the page tells the courier why,
    where a 404 would leave them guessing). One light statement: the route is a subquery,
    only what the page shows is joined, nothing is sorted."""
    routes = Route.objects.filter(courier__user=user, day=day)
    return (
        Stop.objects.filter(route__in=routes, shipment__tracking_number=tracking_number)
        .select_related("shipment__order__customer", "shipment__pickup_point")
        .annotate(failed_reason=_failed_here(), **_entry_state(user))
    )


def active_pickup_points() -> QuerySet[PickupPoint]:
    """The points a parcel can be sent to now."""
    return PickupPoint.objects.filter(is_active=True).order_by("name")
