"""Couriers, routes, pickup points and failed attempts in the admin."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from handoff.services import shipment_add_to_route
from orders.models import Shipment
from otpdelivery import opening_hours
from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import Courier, DeliveryAttempt, PickupPoint, Route, Stop


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


# Where a parcel can be when it is put on a courier's route.
_ROUTABLE = {
    Shipment.Status.SHIPPED,
    Shipment.Status.DELIVERY_FAILED,
    Shipment.Status.OUT_FOR_DELIVERY,
}


@transaction.atomic
def add_parcel_to_route(*, route: Route, shipment: Shipment) -> bool:
    """Put the parcel at the end of the route, through the route service, when it belongs
    there: a parcel of that day, on its way, on no other courier's route that day (rule
    14). False when it is on this route already (as done); RouteRefused otherwise."""
    shipment = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
    if shipment.status not in _ROUTABLE:
        raise RouteRefused(
            _("%(tracking)s is %(status)s: it goes on no route.")
            % {"tracking": shipment, "status": shipment.get_status_display().lower()}
        )
    if shipment.delivery_day != route.day:
        raise RouteRefused(
            _("%(tracking)s is due on %(day)s, not on %(route_day)s.")
            % {
                "tracking": shipment,
                "day": date_format(shipment.delivery_day),
                "route_day": date_format(route.day),
            }
        )
    other = Stop.objects.filter(shipment=shipment, route__day=route.day).select_related(
        "route__courier__user"
    )
    for stop in other:
        if stop.route_id == route.pk:
            return False
        raise RouteRefused(
            _("%(tracking)s is already on %(courier)s's route that day.")
            % {"tracking": shipment, "courier": stop.route.courier}
        )
    shipment_add_to_route(shipment=shipment, route=route)
    return True


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
                add_parcel_to_route(route=route, shipment=form.shipment)
            except RouteRefused as refusal:
                form.add_error("tracking_number", str(refusal))
            else:
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


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "shipment", "courier", "reason"]
    list_filter = ["reason", "created_at"]
    search_fields = ["shipment__tracking_number", "courier__user__username"]
    list_select_related = ["shipment", "courier__user"]
