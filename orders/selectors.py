"""Reads for the customer portal, each scoped to the signed-in customer at the query."""

from django.db.models import Prefetch, QuerySet

from .models import Order, Shipment, TrackingEvent


def orders_for_customer(*, user) -> QuerySet[Order]:
    return Order.objects.filter(customer=user).prefetch_related(
        Prefetch("shipments", queryset=Shipment.objects.order_by("pk"))
    )


def shipments_for_customer(*, user) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(order__customer=user)
        .select_related("order", "delivered_by", "pickup_point")
        .prefetch_related(
            Prefetch("events", queryset=TrackingEvent.objects.order_by("created_at", "pk"))
        )
    )


def still_out_after_their_day(*, today) -> QuerySet[Shipment]:
    """Parcels still on the road after their delivery day ended (missed deliveries and
    missed drops at a pickup point alike)."""
    return Shipment.objects.filter(status=Shipment.Status.OUT_FOR_DELIVERY, delivery_day__lt=today)


def missed_deliveries(*, today) -> QuerySet[Shipment]:
    """Home deliveries whose delivery day has ended with the parcel still on the road.

    Parcels bound for a pickup point are left to the missed drops: their code is issued
    on arrival at the point, and that flow has its own rules.
    """
    return still_out_after_their_day(today=today).filter(pickup_point__isnull=True)


def not_sent_out(*, today) -> QuerySet[Shipment]:
    """Parcels whose delivery day ended before they went out at all (waiting at the depot,
    shipped or after a failed attempt)."""
    return Shipment.objects.filter(
        status__in=[Shipment.Status.SHIPPED, Shipment.Status.DELIVERY_FAILED],
        delivery_day__lt=today,
    )


def missed_drops(*, today) -> QuerySet[Shipment]:
    """Parcels for a pickup point that the courier did not drop off on their day."""
    return still_out_after_their_day(today=today).filter(pickup_point__isnull=False)
