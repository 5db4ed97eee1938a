"""Codes and code entries in the admin: read-only, and never the code itself."""

from django.contrib import admin

from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import CodeEntry, DeliveryCode


@admin.register(DeliveryCode)
class DeliveryCodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "shipment",
        "status",
        "delivery_day",
        "valid_until",
        "wrong_attempts",
        "pickup_point",
        "issued_at",
    ]
    list_filter = ["status", "delivery_day", "pickup_point"]
    search_fields = ["shipment__tracking_number", "shipment__order__number"]
    list_select_related = ["shipment", "pickup_point"]
    # code_hash and code_encrypted are left out on purpose (rule 9).
    fields = [
        "shipment",
        "status",
        "delivery_day",
        "valid_until",
        "pickup_point",
        "wrong_attempts",
        "issued_at",
        "used_at",
    ]


@admin.register(CodeEntry)
class CodeEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "shipment", "outcome", "user", "client_ip", "pickup_point"]
    list_filter = ["outcome", "created_at"]
    search_fields = ["shipment__tracking_number", "user__username", "client_ip"]
    list_select_related = ["shipment", "user", "pickup_point"]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "shipment",
        "code",
        "outcome",
        "user",
        "client_ip",
        "pickup_point",
        "latitude",
        "longitude",
        "reason",
    ]
