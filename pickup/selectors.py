"""Reads for the pickup-point portal, each scoped to the signed-in operator at the query."""

from django.db.models import QuerySet

from couriers.models import PickupPoint
from orders.models import Shipment

# Where a parcel can be on its way to a point from: the statuses that lead to it.
ON_ITS_WAY = [
    status
    for status, targets in Shipment.TRANSITIONS.items()
    if Shipment.Status.AT_PICKUP_POINT in targets
]


def pickup_points_for_operator(*, user) -> QuerySet[PickupPoint]:
    if not user.is_authenticated:
        return PickupPoint.objects.none()
    return PickupPoint.objects.filter(operators=user)


def parcels_waiting_at(*, pickup_point: PickupPoint) -> QuerySet[Shipment]:
    """Waiting for their customers, those to be collected soonest first."""
    return (
        Shipment.objects.filter(pickup_point=pickup_point, status=Shipment.Status.AT_PICKUP_POINT)
        .select_related("order__customer")
        .order_by("delivery_day", "tracking_number")
    )


def parcels_on_their_way_to(*, pickup_point: PickupPoint) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(pickup_point=pickup_point, status__in=ON_ITS_WAY)
        .select_related("order__customer")
        .order_by("delivery_day", "tracking_number")
    )


def parcels_to_receive_at(*, pickup_point: PickupPoint) -> QuerySet[Shipment]:
    """Parcels the operator may confirm receipt of: those on their way here, and those
    already received (a second confirmation is answered as done)."""
    return Shipment.objects.filter(
        pickup_point=pickup_point, status__in=[*ON_ITS_WAY, Shipment.Status.AT_PICKUP_POINT]
    )


def parcels_released_at(*, pickup_point: PickupPoint) -> QuerySet[Shipment]:
    return Shipment.objects.filter(
        pickup_point=pickup_point, status=Shipment.Status.DELIVERED
    ).select_related("order__customer", "delivered_by")
