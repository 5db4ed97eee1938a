"""Codes and code entries in the admin: read-only, and never the code itself."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from orders.days import last_valid_minute
from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import CodeEmail, CodeEntry, DeliveryCode, EntryBlock, ParcelHold
from .services import entry_block_lift


def valid_to_display(code: DeliveryCode):
    """The last minute the code works, as the customer reads it ("until 23:59"), rather
    than the midnight it stops at. Formatted here: the admin prints a callable's value as
    it is, not in the active zone and language like a field's."""
    return date_format(timezone.localtime(last_valid_minute(code.valid_until)), "DATETIME_FORMAT")


@admin.register(DeliveryCode)
class DeliveryCodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "shipment",
        "status",
        "delivery_day",
        "valid_to",
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
        "valid_to",
        "pickup_point",
        "wrong_attempts",
        "issued_at",
        "used_at",
    ]
    readonly_fields = ["valid_to"]

    @admin.display(description=_("valid until"), ordering="valid_until")
    def valid_to(self, code):
        return valid_to_display(code)


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


class ActiveBlockFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Blocked now")), ("lifted", _("Lifted"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(EntryBlock)
class EntryBlockAdmin(admin.ModelAdmin):
    """Blocks are made by the code service and only ever lifted here, never edited."""

    list_display = ["user", "blocked_at", "wrong_entries", "is_blocked", "lifted_at", "lifted_by"]
    list_filter = [ActiveBlockFilter, "blocked_at"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "lifted_by"]
    fields = ["user", "blocked_at", "wrong_entries", "lifted_at", "lifted_by"]
    readonly_fields = fields
    actions = ["lift_block"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("blocked now"), boolean=True)
    def is_blocked(self, block):
        return block.is_active

    @admin.action(description=_("Lift the block"), permissions=["change"])
    def lift_block(self, request, queryset):
        lifted = 0
        for block in queryset.filter(lifted_at__isnull=True):
            entry_block_lift(block=block, actor=request.user)
            lifted += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d block lifted: the person can enter codes again.",
                "%(count)d blocks lifted: those people can enter codes again.",
                lifted,
            )
            % {"count": lifted},
            messages.SUCCESS,
        )


@admin.register(CodeEmail)
class CodeEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Which emails about codes went out, and which are waiting or were given up on."""

    list_display = ["requested_at", "code", "purpose", "sent_at", "superseded_at", "failed_at"]
    list_filter = ["purpose", ("sent_at", admin.EmptyFieldListFilter), "requested_at"]
    search_fields = ["code__shipment__tracking_number", "code__shipment__order__number"]
    list_select_related = ["code__shipment"]
    fields = ["code", "purpose", "requested_at", "sent_at", "superseded_at", "failed_at"]


@admin.register(ParcelHold)
class ParcelHoldAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Parcels held after too many wrong codes; released from the shipment list's action."""

    list_display = ["shipment", "held_at", "wrong_code_entries", "released_at", "released_by"]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "held_at"]
    search_fields = ["shipment__tracking_number", "shipment__order__number"]
    list_select_related = ["shipment", "released_by"]
    fields = list_display


class ParcelHoldInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ParcelHold
    fields = ["held_at", "wrong_code_entries", "released_at", "released_by"]
    readonly_fields = fields
    extra = 0
