"""Couriers, routes, pickup points and failed attempts in the admin."""

from django.contrib import admin

from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import Courier, DeliveryAttempt, PickupPoint, Route, Stop


@admin.register(Courier)
class CourierAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "phone"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "phone"]
    raw_id_fields = ["user"]


@admin.register(PickupPoint)
class PickupPointAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "opening_hours", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "address"]
    filter_horizontal = ["operators"]


class StopInline(admin.TabularInline):
    model = Stop
    extra = 0
    raw_id_fields = ["shipment"]
    ordering = ["position"]


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["courier", "day"]
    list_filter = ["day", "courier"]
    search_fields = ["courier__user__username", "stops__shipment__tracking_number"]
    list_select_related = ["courier__user"]
    inlines = [StopInline]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "shipment", "courier", "reason"]
    list_filter = ["reason", "created_at"]
    search_fields = ["shipment__tracking_number", "courier__user__username"]
    list_select_related = ["shipment", "courier__user"]
