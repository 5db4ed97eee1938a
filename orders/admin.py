"""Operations' view of orders and parcels. The code itself is never shown here."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts.models import Alert
from codes.admin import ParcelHoldInline, valid_to_display
from codes.lifecycle import parcel_hold_release
from codes.models import CodeEntry, DeliveryCode, ParcelHold
from codes.services import (
    OVERRIDE_REASON_MIN_LENGTH,
    EntryContext,
    shipment_hand_over_by_override,
)
from couriers.models import Courier, Stop
from otpdelivery.admin_mixins import ReadOnlyAdminMixin
from otpdelivery.http import client_ip

from .days import local_today
from .exceptions import IllegalTransition
from .models import Order, OrderItem, Shipment, TrackingEvent
from .services import (
    shipment_mark_out_for_delivery,
    shipment_redirect_to_pickup_point,
    shipments_mark_shipped,
)


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
    # Who receives the parcels' codes (rule 9): set when the order is made, never changed
    # here; a change of recipient is a service of its own, for superusers only.
    recipient_fields = ["customer", "email", "language"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self.recipient_fields if obj is not None else fields

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
    fields = ["status", "delivery_day", "valid_to", "wrong_attempts", "issued_at", "used_at"]
    readonly_fields = fields

    @admin.display(description=_("valid until"))
    def valid_to(self, code):
        return valid_to_display(code)

    extra = 0


def _warn_not_changed(modeladmin, request, shipment) -> None:
    modeladmin.message_user(
        request,
        _("%(tracking)s was not changed: it is %(status)s.")
        % {"tracking": shipment, "status": shipment.get_status_display()},
        messages.WARNING,
    )


class PickupParcelFilter(admin.SimpleListFilter):
    """Parcels at pickup points, and those that went back because nobody collected them."""

    title = _("collection at a pickup point")
    parameter_name = "pickup"

    def lookups(self, request, model_admin):
        return [
            ("waiting", _("Waiting at a pickup point")),
            ("overdue", _("Past the last collection day, not yet returned")),
            ("returned", _("Returned uncollected")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(status=Shipment.Status.AT_PICKUP_POINT)
        if self.value() == "overdue":
            return queryset.filter(
                status=Shipment.Status.AT_PICKUP_POINT,
                delivery_day__lt=local_today(timezone.now()),
            )
        if self.value() == "returned":
            return queryset.filter(status=Shipment.Status.RETURNED, pickup_point__isnull=False)
        return queryset


class ShipmentAdminForm(forms.ModelForm):
    class Meta:
        model = Shipment
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets and read-only fields decide

    def clean_pickup_point(self):
        point = self.cleaned_data.get("pickup_point")
        shipment = self.instance
        if "pickup_point" not in self.changed_data:
            return point
        if point is not None and not point.is_active:
            raise forms.ValidationError(_("This pickup point takes no parcels."))
        if shipment.pk is None or shipment.status == Shipment.Status.PROCESSING:
            return point
        if not shipment.can_move_to(Shipment.Status.AT_PICKUP_POINT):
            raise forms.ValidationError(
                _("A parcel that is %(status)s can no longer be redirected.")
                % {"status": shipment.get_status_display().lower()}
            )
        if point is None:
            raise forms.ValidationError(
                _("A parcel on its way can be redirected to another pickup point, not to none.")
            )
        return point


class OverrideForm(forms.Form):
    """Rule 12: handing a parcel over without its code needs a written reason."""

    reason = forms.CharField(
        label=_("Why is this parcel handed over without its code?"),
        help_text=_(
            "Written into the audit trail with your name. Say what happened and how the "
            "recipient's identity was checked."
        ),
        min_length=OVERRIDE_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )
    confirm = forms.BooleanField(
        label=_("I confirm the parcel has been handed over to the right person."),
    )


# Parcels that can be handed over: with a courier today, or waiting at a pickup point.
_HANDED_OVER_FROM = {Shipment.Status.OUT_FOR_DELIVERY, Shipment.Status.AT_PICKUP_POINT}


class CodeAlertFilter(admin.SimpleListFilter):
    """Rule 6: the parcels operations must look at after wrong codes."""

    title = _("after wrong codes")
    parameter_name = "wrong_codes"

    def lookups(self, request, model_admin):
        return [
            ("held_for_operations", _("Held for operations")),
            ("code_locked", _("Code locked")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "held_for_operations":
            return queryset.filter(is_held=True)
        if self.value() == "code_locked":
            return queryset.filter(current_code_status=DeliveryCode.Status.LOCKED)
        return queryset


class OpenAlertFilter(admin.SimpleListFilter):
    """Parcels with an alert still waiting for a person (rule 15), of any or one kind."""

    title = _("open alert")
    parameter_name = "alert"

    def lookups(self, request, model_admin):
        return [("any", _("Any open alert")), *Alert.Kind.choices]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        open_alerts = Alert.objects.filter(shipment=OuterRef("pk"), resolved_at__isnull=True)
        if self.value() != "any":
            open_alerts = open_alerts.filter(kind=self.value())
        return queryset.filter(Exists(open_alerts))


class CourierFilter(admin.SimpleListFilter):
    """Parcels on a courier's route (on any day; combine with the delivery day)."""

    title = _("courier")
    parameter_name = "courier"

    def lookups(self, request, model_admin):
        return [
            (str(courier.pk), str(courier))
            for courier in Courier.objects.select_related("user").order_by("user__username")
        ]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        on_route = Stop.objects.filter(shipment=OuterRef("pk"), route__courier_id=self.value())
        return queryset.filter(Exists(on_route))


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    form = ShipmentAdminForm
    change_form_template = "admin/orders/shipment/change_form.html"
    # Issue 14: what operations look a parcel up by, and its state, without scrolling
    # sideways at 1280 px (the wrong-code count is on the parcel's page and in its alerts).
    list_display = [
        "tracking_number",
        "customer",
        "order",
        "status",
        "delivery_day",
        "requires_code",
        "pickup_point",
        "alerts",
    ]
    list_filter = [
        "delivery_day",
        "status",
        CourierFilter,
        "pickup_point",
        OpenAlertFilter,
        CodeAlertFilter,
        PickupParcelFilter,
        "requires_code",
    ]
    search_fields = [
        "tracking_number",
        "order__number",
        "order__email",
        "order__customer__username",
        "order__customer__first_name",
        "order__customer__last_name",
        "order__customer__email",
    ]
    list_select_related = ["order__customer", "pickup_point"]
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
    inlines = [DeliveryCodeInline, ParcelHoldInline, TrackingEventInline]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # Moving a parcel to another order would hand its code to that order's customer.
        return [*fields, "order"] if obj is not None else fields

    actions = ["mark_as_shipped", "mark_as_out_for_delivery", "release_hold"]

    def get_queryset(self, request):
        current_code = DeliveryCode.objects.filter(shipment=OuterRef("pk")).order_by(
            "-issued_at", "-pk"
        )
        open_holds = ParcelHold.objects.filter(shipment=OuterRef("pk"), released_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                current_code_status=Subquery(current_code.values("status")[:1]),
                is_held=Exists(open_holds),
            )
            .prefetch_related(
                Prefetch(
                    "alerts",
                    queryset=Alert.objects.filter(resolved_at__isnull=True).order_by("opened_at"),
                    to_attr="open_alerts",
                )
            )
        )

    def changelist_view(self, request, extra_context=None):
        # Issue 14: at 1280 px the columns need the room of the navigation sidebar (the
        # breadcrumbs and the admin index still lead everywhere).
        extra_context = {**(extra_context or {}), "is_nav_sidebar_enabled": False}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("customer"), ordering="order__customer__last_name")
    def customer(self, shipment):
        person = shipment.order.customer
        return person.get_full_name() or person.get_username()

    @admin.display(description=_("open alerts"))
    def alerts(self, shipment):
        kinds = {alert.kind: alert.get_kind_display() for alert in shipment.open_alerts}
        # The code's own state too, so a lock or hold shows even before its alert exists.
        if shipment.is_held:
            kinds.setdefault(Alert.Kind.PARCEL_HELD, _("Held for operations"))
        if shipment.current_code_status == DeliveryCode.Status.LOCKED:
            kinds.setdefault(Alert.Kind.CODE_LOCKED, _("Code locked"))
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            '<span class="alert-kind" data-alert-kind="{}">{}</span>',
            kinds.items(),
        )

    @admin.action(description=_("Release from hold after wrong codes"))
    def release_hold(self, request, queryset):
        released = 0
        for shipment in queryset:
            hold = parcel_hold_release(shipment=shipment, actor=request.user, now=timezone.now())
            if hold is None:
                self.message_user(
                    request,
                    _("%(tracking)s was not held.") % {"tracking": shipment},
                    messages.WARNING,
                )
                continue
            self.log_change(request, shipment, _("Released from hold after wrong codes."))
            released += 1
        if released:
            self.message_user(
                request,
                ngettext(
                    "%(count)d parcel released: code entry is accepted again.",
                    "%(count)d parcels released: code entry is accepted again.",
                    released,
                )
                % {"count": released},
                messages.SUCCESS,
            )

    def save_model(self, request, obj, form, change):
        # Once shipped, a new pickup point is a redirect: through the service, on the
        # timeline, with the transition checked (the form already said it is allowed).
        if not (change and "pickup_point" in form.changed_data):
            return super().save_model(request, obj, form, change)
        if obj.status == Shipment.Status.PROCESSING:
            return super().save_model(request, obj, form, change)
        new_point = obj.pickup_point
        obj.pickup_point_id = form.initial.get("pickup_point")
        super().save_model(request, obj, form, change)
        shipment_redirect_to_pickup_point(shipment=obj, pickup_point=new_point, actor=request.user)
        obj.refresh_from_db()

    def get_urls(self):
        override = path(
            "<path:object_id>/hand-over/",
            self.admin_site.admin_view(self.hand_over_view),
            name="orders_shipment_hand_over",
        )
        return [override, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shipment = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "can_hand_over": shipment is not None
            and shipment.status in _HANDED_OVER_FROM
            and self.has_change_permission(request, shipment),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def hand_over_view(self, request, object_id):
        """A page of its own, not a bulk action: one parcel, one written reason."""
        shipment = self.get_object(request, object_id)
        if shipment is None:
            raise Http404
        if not self.has_change_permission(request, shipment):
            raise PermissionDenied
        change_url = reverse("admin:orders_shipment_change", args=[shipment.pk])
        form = OverrideForm(request.POST or None)
        if shipment.status not in _HANDED_OVER_FROM:
            self.message_user(
                request,
                _("%(tracking)s cannot be handed over: it is %(status)s.")
                % {"tracking": shipment, "status": shipment.get_status_display().lower()},
                messages.ERROR,
            )
            return redirect(change_url)
        if request.method == "POST" and form.is_valid():
            result = shipment_hand_over_by_override(
                shipment=shipment,
                context=EntryContext(user=request.user, client_ip=client_ip(request)),
                reason=form.cleaned_data["reason"],
            )
            if result.outcome == CodeEntry.Outcome.OVERRIDE:
                self.message_user(
                    request,
                    _(
                        "%(tracking)s handed over without its code. "
                        "The reason is in the audit trail."
                    )
                    % {"tracking": shipment},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request, _("%(tracking)s was already delivered.") % {"tracking": shipment}
                )
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": shipment,
            "shipment": shipment,
            "form": form,
            "title": _("Hand over without the code"),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/shipment/hand_over.html", context)

    @admin.action(description=_("Mark as shipped"))
    def mark_as_shipped(self, request, queryset):
        # Set-based: one transaction and a fixed number of queries however many are picked.
        result = shipments_mark_shipped(shipments=queryset.only("pk"), actor=request.user)
        for shipment in result.refused:
            _warn_not_changed(self, request, shipment)
        if done := len(result.shipped):
            self.message_user(
                request,
                ngettext(
                    "%(count)d parcel shipped; codes are emailed to customers where needed.",
                    "%(count)d parcels shipped; codes are emailed to customers where needed.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Mark as out for delivery"))
    def mark_as_out_for_delivery(self, request, queryset):
        done = 0
        for shipment in queryset:
            try:
                shipment_mark_out_for_delivery(shipment=shipment, actor=request.user)
            except IllegalTransition:
                _warn_not_changed(self, request, shipment)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d parcel out for delivery.",
                    "%(count)d parcels out for delivery.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )
