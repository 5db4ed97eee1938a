"""Operations' view of orders and parcels, above the hand-over layer: every change goes
through `handoff.services`. The code itself is never shown here."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from alerts.models import Alert
from codes.admin import ParcelHoldInline, valid_to_display
from codes.models import CodeEntry, DeliveryCode, ParcelHold
from couriers.models import Courier, DeliveryAttempt, PickupPoint, Route, Stop
from orders.days import first_working_day_from, local_today
from orders.models import Order, OrderItem, Shipment, TrackingEvent
from otpdelivery.admin_mixins import ReadOnlyAdminMixin
from otpdelivery.http import client_ip

from .exceptions import NotItsDeliveryDay, NotOnARoute, OnAnotherRoute, StopFinished
from .recipients import order_change_recipient
from .services import (
    OVERRIDE_REASON_MIN_LENGTH,
    REFUSALS,
    ROUTED_STATUSES,
    EntryContext,
    shipment_add_to_route,
    shipment_change_delivery_day,
    shipment_hand_over_by_override,
    shipment_mark_out_for_delivery,
    shipment_move_to_route,
    shipment_redirect_to_pickup_point,
    shipment_release_hold,
    shipments_mark_shipped,
)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0


class RecipientForm(forms.Form):
    """Who receives an order's codes from now on; superusers only (rule 9)."""

    username = forms.CharField(label=_("customer's username"), max_length=150)
    email = forms.EmailField(label=_("email for delivery codes"))
    language = forms.ChoiceField(label=_("language for emails"), choices=settings.LANGUAGES)
    reason = forms.CharField(
        label=_("Why does the recipient change?"),
        help_text=_("Kept on the alert with your name."),
        min_length=OVERRIDE_REASON_MIN_LENGTH,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def clean_username(self):
        customer = get_user_model().objects.filter(username=self.cleaned_data["username"]).first()
        if customer is None:
            raise forms.ValidationError(_("Nobody has this username."))
        return customer


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
        if obj is None:
            return fields
        fields += self.recipient_fields
        # The link only for those the change of recipient lets in: for anyone else a 403.
        return [*fields, "change_recipient_link"] if request.user.is_superuser else fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(parcel_count=Count("shipments"))

    @admin.display(description=_("parcels"), ordering="parcel_count")
    def parcel_count(self, order):
        return order.parcel_count

    @admin.display(description=_("recipient of the codes"))
    def change_recipient_link(self, order):
        url = reverse("admin:orders_order_change_recipient", args=[order.pk])
        return format_html('<a href="{}">{}</a>', url, _("Change who receives the codes…"))

    def get_urls(self):
        change_recipient = path(
            "<path:object_id>/change-recipient/",
            self.admin_site.admin_view(self.change_recipient_view),
            name="orders_order_change_recipient",
        )
        return [change_recipient, *super().get_urls()]

    def change_recipient_view(self, request, object_id):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not request.user.is_superuser:
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        initial = {"username": order.customer.username, "email": order.email}
        form = RecipientForm(request.POST or None, initial={**initial, "language": order.language})
        if request.method == "POST" and form.is_valid():
            result = order_change_recipient(
                order=order,
                customer=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                language=form.cleaned_data["language"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
            self.log_change(request, order, _("Recipient of the codes changed."))
            self.message_user(
                request,
                ngettext(
                    "%(number)s has a new recipient; %(count)d code was issued again.",
                    "%(number)s has a new recipient; %(count)d codes were issued again.",
                    result.codes_reissued,
                )
                % {"number": order.number, "count": result.codes_reissued},
                messages.SUCCESS,
            )
            return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": order,
            "order": order,
            "form": form,
            "title": _("Change who receives the codes"),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/orders/order/change_recipient.html", context)


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


def _tell_not_changed(modeladmin, request, shipment, reason: str) -> None:
    modeladmin.message_user(
        request,
        _("%(tracking)s was not changed: %(reason)s") % {"tracking": shipment, "reason": reason},
        messages.WARNING,
    )


def _warn_not_changed(modeladmin, request, shipment, refusal: Exception | None = None) -> None:
    """Tell operations why the hand-over layer refused a parcel, in their words."""
    if isinstance(refusal, NotItsDeliveryDay):
        reason = _("it is due on %(day)s.") % {"day": date_format(shipment.delivery_day)}
    elif isinstance(refusal, OnAnotherRoute):
        reason = _("it is on another courier's route that day.")
    elif isinstance(refusal, NotOnARoute):
        reason = _("it is on no route of its day.")
    elif isinstance(refusal, StopFinished):
        reason = _("its stop on %(day)s is already finished (%(outcome)s).") % {
            "day": date_format(refusal.stop.day),
            "outcome": refusal.stop.get_outcome_display().lower(),
        }
    else:
        reason = _("it is %(status)s.") % {"status": shipment.get_status_display().lower()}
    _tell_not_changed(modeladmin, request, shipment, reason)


def _on_route(shipment: Shipment, route: Route) -> bool:
    """The parcel has a stop on the route (one moved off it does not count)."""
    return (
        Stop.objects.filter(route=route, shipment=shipment)
        .exclude(outcome=Stop.Outcome.MOVED)
        .exists()
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


class RedirectForm(forms.Form):
    pickup_point = forms.ModelChoiceField(
        label=_("Pickup point"), queryset=PickupPoint.objects.filter(is_active=True)
    )


class AddToRouteForm(forms.Form):
    courier = forms.ModelChoiceField(
        label=_("Courier"), queryset=Courier.objects.select_related("user")
    )
    day = forms.DateField(
        label=_("Day"),
        help_text=_("The parcels' delivery day."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_day(self):
        return _day_ahead(self.cleaned_data["day"])


# How far ahead operations may move a parcel's day: further, it should go back to the sender.
MAX_DAYS_AHEAD = 30


def _day_ahead(day):
    """A day operations may plan a parcel for: today or later, within MAX_DAYS_AHEAD."""
    today = local_today(timezone.now())
    if day < today:
        raise forms.ValidationError(_("This day is over: choose today or a later day."))
    if (day - today).days > MAX_DAYS_AHEAD:
        raise forms.ValidationError(
            _("Choose a day within %(days)d days.") % {"days": MAX_DAYS_AHEAD}
        )
    return day


class DeliveryDayForm(forms.Form):
    delivery_day = forms.DateField(
        label=_("New delivery day"),
        help_text=_(
            "The code is issued again for this day and emailed to the customer, and the parcel "
            "goes on its courier's route for that day."
        ),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_delivery_day(self):
        day = _day_ahead(self.cleaned_data["delivery_day"])
        if first_working_day_from(day) != day:
            raise forms.ValidationError(_("Couriers do not deliver on that day."))
        return day


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
            # Locked, and not yet resolved: a new code after the failed attempt does not
            # close the case (rule 15), its alert does.
            open_lock = Alert.objects.filter(
                shipment=OuterRef("pk"), kind=Alert.Kind.CODE_LOCKED, resolved_at__isnull=True
            )
            return queryset.filter(
                Q(current_code_status=DeliveryCode.Status.LOCKED) | Q(Exists(open_lock))
            )
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
        if not self.value().isdigit():
            raise IncorrectLookupParameters
        on_route = Stop.objects.filter(shipment=OuterRef("pk"), route__courier_id=self.value())
        return queryset.filter(Exists(on_route))


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    change_form_template = "admin/orders/shipment/change_form.html"
    # Issue 14: what operations look a parcel up by, and its state, without scrolling
    # sideways at 1280 px (the wrong-code count is on the parcel's page and in its alerts).
    list_display = [
        "tracking_number",
        "customer",
        "order_and_reference",
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
        "order__reference",
        "order__email",
        "order__customer__username",
        "order__customer__first_name",
        "order__customer__last_name",
        "order__customer__email",
    ]
    list_select_related = ["order__customer", "order__retailer", "pickup_point"]
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
        # Rule 13: once the parcel exists, its order (moving it would hand its code to that
        # order's customer), day, pickup point, route and status change only through the
        # actions below, which call the services; nothing is edited around them.
        owned = ["order", "delivery_day", "pickup_point"]
        return [*fields, *owned] if obj is not None else [*fields, "delivery_day"]

    actions = [
        "mark_as_shipped",
        "add_to_route",
        "move_to_route",
        "change_delivery_day",
        "mark_as_out_for_delivery",
        "redirect_to_pickup_point",
        "release_hold",
    ]

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

    @admin.display(description=_("order"), ordering="order__number")
    def order_and_reference(self, shipment):
        """The order number and, for an order from a retailer, the retailer's name and its
        own reference under it: one column, so that the list still fits at 1280 px."""
        order = shipment.order
        if order.retailer is None:
            return order.number
        return format_html(
            '{}<br><span class="quiet">{} · {}</span>',
            order.number,
            order.retailer,
            order.reference or "-",
        )

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

    @admin.action(description=_("Release from hold after wrong codes"), permissions=["change"])
    def release_hold(self, request, queryset):
        released = 0
        for shipment in queryset:
            hold = shipment_release_hold(shipment=shipment, actor=request.user)
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
            try:
                result = shipment_hand_over_by_override(
                    shipment=shipment,
                    context=EntryContext(user=request.user, client_ip=client_ip(request)),
                    reason=form.cleaned_data["reason"],
                )
            except REFUSALS:
                # Taken off the road meanwhile (a failed attempt at this very moment).
                shipment.refresh_from_db()
                _warn_not_changed(self, request, shipment)
                return redirect(change_url)
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

    @admin.action(description=_("Mark as shipped"), permissions=["change"])
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

    @admin.action(description=_("Mark as out for delivery"), permissions=["change"])
    def mark_as_out_for_delivery(self, request, queryset):
        # Rule 13: out only on the parcel's day, and only on a route of that day; the layer
        # refuses anything else and the refusal is told.
        done = self._each(
            request,
            queryset,
            lambda shipment: shipment_mark_out_for_delivery(shipment=shipment, actor=request.user),
            unchanged=lambda shipment: (
                _("it is already out for delivery.")
                if shipment.status == Shipment.Status.OUT_FOR_DELIVERY
                else None
            ),
        )
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

    def _each(self, request, queryset, act, *, unchanged=None) -> int:
        """`act` on each selected parcel, through the hand-over layer; a refusal is told to
        operations, never raised. A parcel already where the action would put it, for which
        `unchanged(shipment)` gives the reason, is told apart as not changed and left alone:
        the layer would answer it as done (a double tap), and operations must not read that
        as a change. Returns how many were done."""
        done = 0
        for shipment in queryset:
            reason = unchanged(shipment) if unchanged is not None else None
            if reason is not None:
                _tell_not_changed(self, request, shipment, reason)
                continue
            try:
                act(shipment)
            except REFUSALS as refusal:
                _warn_not_changed(self, request, shipment, refusal)
            else:
                done += 1
        return done

    def _ask_route(self, request, queryset, *, action, title, submit_label):
        """The courier and day of a route, asked on an intermediate page: (route, None)
        once given, (None, the page) until then."""
        days = {shipment.delivery_day for shipment in queryset}
        form, page = self._ask(
            request,
            queryset,
            form_class=AddToRouteForm,
            action=action,
            title=title,
            submit_label=submit_label,
            initial={"day": days.pop() if len(days) == 1 else None},
        )
        if page is not None:
            return None, page
        route, _created = Route.objects.get_or_create(
            courier=form.cleaned_data["courier"], day=form.cleaned_data["day"]
        )
        return route, None

    def _route_done(self, request, done: int, route) -> None:
        if not route.stops.exists():
            # Every parcel was refused: no empty route is left behind.
            route.delete()
        if done:
            self.message_user(
                request,
                ngettext("%(count)d parcel on %(route)s.", "%(count)d parcels on %(route)s.", done)
                % {"count": done, "route": route},
                messages.SUCCESS,
            )

    def _ask(self, request, queryset, *, form_class, action, title, submit_label, initial=None):
        """An intermediate page for an action that needs more than the selection: the
        form, bound once it is sent back (with `apply`), and the page to show if not valid."""
        form = form_class(request.POST if "apply" in request.POST else None, initial=initial)
        if form.is_valid():
            return form, None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "objects": list(queryset),
            "form": form,
            "selected": list(queryset.values_list("pk", flat=True)),
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit_label,
            "back_url": reverse("admin:orders_shipment_changelist"),
        }
        return None, TemplateResponse(request, "admin/action_form.html", context)

    @admin.action(description=_("Redirect to a pickup point…"), permissions=["change"])
    def redirect_to_pickup_point(self, request, queryset):
        form, page = self._ask(
            request,
            queryset,
            form_class=RedirectForm,
            action="redirect_to_pickup_point",
            title=_("Redirect to a pickup point"),
            submit_label=_("Redirect"),
        )
        if page is not None:
            return page
        point = form.cleaned_data["pickup_point"]

        def already(shipment):
            if (
                shipment.pickup_point_id != point.pk
                or shipment.status == Shipment.Status.PROCESSING
            ):
                return None
            if shipment.status == Shipment.Status.AT_PICKUP_POINT:
                return _("it is already at %(point)s.") % {"point": point}
            return _("it is already on its way to %(point)s.") % {"point": point}

        done = self._each(
            request,
            queryset,
            lambda shipment: shipment_redirect_to_pickup_point(
                shipment=shipment, pickup_point=point, actor=request.user
            ),
            unchanged=already,
        )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d parcel on its way to %(point)s.",
                    "%(count)d parcels on their way to %(point)s.",
                    done,
                )
                % {"count": done, "point": point},
                messages.SUCCESS,
            )
        return None

    @admin.action(description=_("Add to route…"), permissions=["change"])
    def add_to_route(self, request, queryset):
        route, page = self._ask_route(
            request,
            queryset,
            action="add_to_route",
            title=_("Add to a courier's route"),
            submit_label=_("Add to route"),
        )
        if page is not None:
            return page
        done = 0
        for shipment in queryset:
            try:
                added = add_parcel_to_route(route=route, shipment=shipment, actor=request.user)
            except RouteRefused as refusal:
                self.message_user(request, str(refusal), messages.WARNING)
            else:
                if not added:
                    _tell_not_changed(self, request, shipment, _("it is already on that route."))
                    continue
                self.log_change(request, shipment, _("Added to %(route)s.") % {"route": route})
                done += 1
        self._route_done(request, done, route)
        return None

    @admin.action(description=_("Move to another courier's route…"), permissions=["change"])
    def move_to_route(self, request, queryset):
        """Rule 14: the parcel leaves its courier's route of that day (the stop stays there
        as moved) and joins the end of the chosen courier's route."""
        route, page = self._ask_route(
            request,
            queryset,
            action="move_to_route",
            title=_("Move to another courier's route"),
            submit_label=_("Move"),
        )
        if page is not None:
            return page

        def move(shipment):
            shipment_move_to_route(shipment=shipment, route=route, actor=request.user)
            self.log_change(request, shipment, _("Moved to %(route)s.") % {"route": route})

        def already(shipment):
            # What the layer would answer as done (a parcel it refuses is told why).
            on_it = (
                shipment.status in ROUTED_STATUSES
                and shipment.delivery_day == route.day
                and _on_route(shipment, route)
            )
            return _("it is already on that route.") if on_it else None

        self._route_done(request, self._each(request, queryset, move, unchanged=already), route)
        return None

    @admin.action(description=_("Change delivery day…"), permissions=["change"])
    def change_delivery_day(self, request, queryset):
        """Rule 13: a new day through the hand-over layer, with its tracking event, a code
        for the new day (emailed) and a place on the courier's route for that day."""
        form, page = self._ask(
            request,
            queryset,
            form_class=DeliveryDayForm,
            action="change_delivery_day",
            title=_("Change delivery day"),
            submit_label=_("Change delivery day"),
        )
        if page is not None:
            return page
        day = form.cleaned_data["delivery_day"]
        done = self._each(
            request,
            queryset,
            lambda shipment: shipment_change_delivery_day(
                shipment=shipment, delivery_day=day, actor=request.user
            ),
            unchanged=lambda shipment: (
                _("it is already due on %(day)s.") % {"day": date_format(day)}
                if shipment.delivery_day == day
                else None
            ),
        )
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d parcel now due on %(day)s.",
                    "%(count)d parcels now due on %(day)s.",
                    done,
                )
                % {"count": done, "day": date_format(day)},
                messages.SUCCESS,
            )
        return None


# --- Routes: a record of each courier's day, stops added through the layer ---------------


class StopInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The route's stops as a record: added by tracking number, never edited here. Each
    shows what happened at it (rule 14), and apart from that where the parcel is now."""

    model = Stop
    extra = 0
    fields = ["position", "tracking_number", "outcome", "record", "finished_at", "parcel_now"]
    readonly_fields = fields
    ordering = ["position"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipment", "pickup_point")

    @admin.display(description=_("tracking number"))
    def tracking_number(self, stop):
        return stop.shipment.tracking_number

    @admin.display(description=_("what happened here"))
    def record(self, stop):
        """The reason of a failed attempt, or the point a dropped or redirected parcel was
        bound for, as the stop kept them."""
        if stop.outcome == Stop.Outcome.FAILED and stop.note:
            return DeliveryAttempt.Reason(stop.note).label
        if stop.pickup_point is not None:
            return stop.pickup_point.name
        return "-"

    @admin.display(description=_("parcel now"))
    def parcel_now(self, stop):
        return stop.shipment.get_status_display()


class RouteRefused(Exception):
    """Why a parcel cannot go on a route, in words for operations."""


def add_parcel_to_route(*, route: Route, shipment: Shipment, actor) -> bool:
    """Put the parcel at the end of the route through the hand-over layer (rule 14). False
    when it is on this route already (as done); RouteRefused, in words for operations,
    when the layer refuses."""
    already = _on_route(shipment, route)
    try:
        shipment_add_to_route(shipment=shipment, route=route, actor=actor)
    except OnAnotherRoute as refusal:
        other = (
            Stop.objects.filter(shipment=shipment, day=route.day)
            .exclude(outcome=Stop.Outcome.MOVED)
            .select_related("route__courier__user")
            .first()
        )
        raise RouteRefused(
            _("%(tracking)s is already on %(courier)s's route that day.")
            % {"tracking": shipment, "courier": other.route.courier if other else "-"}
        ) from refusal
    except NotItsDeliveryDay as refusal:
        shipment.refresh_from_db()
        raise RouteRefused(
            _("%(tracking)s is due on %(day)s, not on %(route_day)s.")
            % {
                "tracking": shipment,
                "day": date_format(shipment.delivery_day) if shipment.delivery_day else "-",
                "route_day": date_format(route.day),
            }
        ) from refusal
    except REFUSALS as refusal:
        shipment.refresh_from_db()
        raise RouteRefused(
            _("%(tracking)s is %(status)s: it goes on no route.")
            % {"tracking": shipment, "status": shipment.get_status_display().lower()}
        ) from refusal
    return not already


class AddParcelForm(forms.Form):
    tracking_number = forms.CharField(label=_("Tracking number"), max_length=20)

    def clean_tracking_number(self):
        tracking = self.cleaned_data["tracking_number"].strip().upper().replace(" ", "")
        shipment = Shipment.objects.filter(tracking_number=tracking).first()
        if shipment is None:
            raise forms.ValidationError(_("No parcel has this tracking number."))
        self.shipment = shipment
        return tracking


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["courier", "day"]
    list_filter = ["day", "courier"]
    search_fields = ["courier__user__username", "stops__shipment__tracking_number"]
    list_select_related = ["courier__user"]
    inlines = [StopInline]
    change_form_template = "admin/couriers/route/change_form.html"

    def get_readonly_fields(self, request, obj=None):
        # A route's courier and day are what its stops were planned for.
        return ["courier", "day"] if obj is not None else []

    def get_urls(self):
        add_parcel = path(
            "<path:object_id>/add-parcel/",
            self.admin_site.admin_view(self.add_parcel_view),
            name="couriers_route_add_parcel",
        )
        return [add_parcel, *super().get_urls()]

    def add_parcel_view(self, request, object_id):
        """A stop is added by the parcel's tracking number, never by a database id."""
        route = self.get_object(request, object_id)
        if route is None:
            raise Http404
        if not self.has_change_permission(request, route):
            raise PermissionDenied
        change_url = reverse("admin:couriers_route_change", args=[route.pk])
        form = AddParcelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                added = add_parcel_to_route(route=route, shipment=form.shipment, actor=request.user)
            except RouteRefused as refusal:
                form.add_error("tracking_number", str(refusal))
            else:
                if added:
                    self.log_change(
                        request, form.shipment, _("Added to %(route)s.") % {"route": route}
                    )
                self.message_user(
                    request,
                    _("%(tracking)s is on %(route)s.")
                    % {"tracking": form.shipment, "route": route},
                    messages.SUCCESS,
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Add a parcel to %(route)s") % {"route": route},
            "intro": _(
                "The parcel goes at the end of the route. It must be due on the route's day."
            ),
            "form": form,
            "submit_label": _("Add to route"),
            "back_url": change_url,
        }
        return TemplateResponse(request, "admin/action_form.html", context)
