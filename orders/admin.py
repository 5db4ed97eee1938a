"""Operations' view of orders and parcels. The code itself is never shown here."""

from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from codes.models import DeliveryCode
from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .exceptions import IllegalTransition
from .models import Order, OrderItem, Shipment, TrackingEvent
from .services import shipment_mark_out_for_delivery, shipment_mark_shipped


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "email", "created_at", "parcel_count"]
    search_fields = ["number", "customer__username", "email", "shipments__tracking_number"]
    date_hierarchy = "created_at"
    list_select_related = ["customer"]
    inlines = [OrderItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(parcel_count=Count("shipments"))

    @admin.display(description=_("parcels"), ordering="parcel_count")
    def parcel_count(self, order):
        return order.parcel_count


class TrackingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TrackingEvent
    fields = ["created_at", "status", "note", "actor"]
    readonly_fields = fields
    extra = 0


class DeliveryCodeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryCode
    # Only facts about the code; its hash and ciphertext stay out of the admin entirely.
    fields = ["status", "delivery_day", "valid_until", "wrong_attempts", "issued_at", "used_at"]
    readonly_fields = fields
    extra = 0


def _apply(modeladmin, request, queryset, service, done_message):
    done = 0
    for shipment in queryset:
        try:
            service(shipment=shipment, actor=request.user)
        except IllegalTransition:
            modeladmin.message_user(
                request,
                _("%(tracking)s was not changed: it is %(status)s.")
                % {"tracking": shipment, "status": shipment.get_status_display()},
                messages.WARNING,
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message(done), messages.SUCCESS)


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = [
        "tracking_number",
        "order",
        "status",
        "delivery_day",
        "requires_code",
        "wrong_code_entries",
        "pickup_point",
    ]
    list_filter = ["status", "requires_code", "delivery_day", "pickup_point"]
    search_fields = ["tracking_number", "order__number", "order__customer__username"]
    list_select_related = ["order", "pickup_point"]
    readonly_fields = [
        "tracking_number",
        "status",
        "requires_code",
        "wrong_code_entries",
        "shipped_at",
        "delivered_at",
        "delivered_by",
    ]
    raw_id_fields = ["order"]
    inlines = [DeliveryCodeInline, TrackingEventInline]
    actions = ["mark_as_shipped", "mark_as_out_for_delivery"]

    @admin.action(description=_("Mark as shipped"))
    def mark_as_shipped(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            shipment_mark_shipped,
            lambda n: (
                ngettext(
                    "%(count)d parcel shipped; codes are emailed to customers where needed.",
                    "%(count)d parcels shipped; codes are emailed to customers where needed.",
                    n,
                )
                % {"count": n}
            ),
        )

    @admin.action(description=_("Mark as out for delivery"))
    def mark_as_out_for_delivery(self, request, queryset):
        _apply(
            self,
            request,
            queryset,
            shipment_mark_out_for_delivery,
            lambda n: (
                ngettext(
                    "%(count)d parcel out for delivery.", "%(count)d parcels out for delivery.", n
                )
                % {"count": n}
            ),
        )
