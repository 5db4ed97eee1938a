"""Reads for the courier portal, each scoped to the signed-in person at the query."""

import datetime

from django.db.models import QuerySet

from .models import Courier, PickupPoint, Stop


def courier_for_user(user) -> Courier | None:
    if not user.is_authenticated:
        return None
    return Courier.objects.filter(user=user).first()


def stops_for_courier(*, user, day: datetime.date) -> QuerySet[Stop]:
    """The stops of the person's own route for `day`, in the order they are driven."""
    return (
        Stop.objects.filter(route__courier__user=user, route__day=day)
        .select_related(
            "shipment__order__customer", "shipment__delivered_by", "shipment__pickup_point"
        )
        .order_by("position")
    )


def active_pickup_points() -> QuerySet[PickupPoint]:
    """The points a parcel can be sent to now."""
    return PickupPoint.objects.filter(is_active=True).order_by("name")
