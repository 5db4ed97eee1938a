"""Operations see every webhook delivery with its attempts, and can send one again."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import webhook_delivery_resend


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["url", "retailer", "events", "created_at", "deleted_at"]
    list_filter = ["retailer", ("deleted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["retailer"]
    fields = ["retailer", "url", "events", "created_at", "deleted_at"]
    readonly_fields = fields


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "status_code", "duration_ms", "error"]
    readonly_fields = fields
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "message_id",
        "event_type",
        "shipment",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "endpoint__retailer"]
    list_select_related = ["shipment", "endpoint__retailer"]
    search_fields = ["message_id", "shipment__tracking_number"]
    date_hierarchy = "created_at"
    fields = [
        "message_id",
        "event_type",
        "shipment",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
        "next_attempt_at",
        "in_flight_until",
        "delivered_at",
        "body",
    ]
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again"), permissions=["change"])
    def send_again(self, request, queryset):
        deliveries = list(queryset.filter(endpoint__deleted_at__isnull=True))
        for delivery in deliveries:
            webhook_delivery_resend(delivery=delivery)
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued to be sent again.",
                "%(count)d deliveries queued to be sent again.",
                len(deliveries),
            )
            % {"count": len(deliveries)},
            messages.SUCCESS,
        )
