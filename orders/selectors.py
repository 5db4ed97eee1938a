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
