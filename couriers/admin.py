"""Couriers, routes, pickup points and failed attempts in the admin."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from orders.models import Shipment
from otpdelivery import opening_hours
from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import Courier, DeliveryAttempt, PickupPoint


@admin.register(Courier)
class CourierAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "phone"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
    raw_id_fields = ["user"]


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "hours", "is_active", "parcels_waiting"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]
    filter_horizontal = ["operators"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                parcels_waiting=Count(
                    "shipments", filter=Q(shipments__status=Shipment.Status.AT_PICKUP_POINT)
                )
            )
        )

    @admin.display(description=_("opening hours"), ordering="opening_hours")
    def hours(self, pickup_point):
        """Stored in one fixed form, shown in the reader's language."""
        return opening_hours.localised(pickup_point.opening_hours)

    @admin.display(description=_("parcels waiting"), ordering="parcels_waiting")
    def parcels_waiting(self, pickup_point):
        return pickup_point.parcels_waiting


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "shipment", "courier", "reason"]
    list_filter = ["reason", "created_at"]
    search_fields = ["shipment__tracking_number", "courier__user__username"]
    list_select_related = ["shipment", "courier__user"]
