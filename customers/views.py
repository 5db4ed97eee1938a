"""The customer portal: Your orders, and Track my package for each parcel."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from codes.exceptions import NoCodeToResend, ResendLimitReached
from codes.lifecycle import code_resend
from codes.selectors import code_alert_for_customer, visible_code_of
from handoff.services import REFUSALS, shipment_redirect_to_pickup_point
from orders.models import Shipment
from orders.selectors import orders_for_customer, shipments_for_customer

from .forms import PickupPointChoiceForm
from .selectors import tracked_shipment


@never_cache
@login_required
def order_list(request):
    orders = orders_for_customer(user=request.user)
    return render(request, "orders/order_list.html", {"orders": orders})


@never_cache
@login_required
def track(request, tracking_number):
    # Another customer's parcel is a 404, never a 403 that would confirm it exists.
    # The parcel and its usable code in one statement, its timeline in another.
    shipment = tracked_shipment(
        user=request.user, tracking_number=tracking_number, now=timezone.now()
    )
    if shipment is None:
        raise Http404
    code = visible_code_of(shipment)
    return render(
        request,
        "orders/track.html",
        {
            "shipment": shipment,
            "code": code,
            "alert": None if code else code_alert_for_customer(shipment=shipment),
            "redirect_form": PickupPointChoiceForm() if _can_redirect(shipment) else None,
        },
    )


def _can_redirect(shipment) -> bool:
    # The customer chooses a point after a failed attempt at their door (rule 8); before
    # that the parcel is on its way to the address they ordered it to.
    return shipment.status == Shipment.Status.DELIVERY_FAILED and shipment.pickup_point_id is None


@require_POST
@login_required
def track_redirect_to_pickup_point(request, tracking_number):
    shipment = get_object_or_404(
        shipments_for_customer(user=request.user), tracking_number=tracking_number
    )
    form = PickupPointChoiceForm(request.POST)
    if not _can_redirect(shipment):
        messages.error(request, _("This parcel can no longer be sent to a pickup point."))
    elif not form.is_valid():
        messages.error(request, _("Choose one of the pickup points."))
    else:
        point = form.cleaned_data["pickup_point"]
        try:
            shipment_redirect_to_pickup_point(
                shipment=shipment, pickup_point=point, actor=request.user
            )
        except REFUSALS:
            messages.error(request, _("This parcel can no longer be sent to a pickup point."))
        else:
            messages.success(
                request,
                _(
                    "Your parcel is on its way to %(name)s. We will email you the code to "
                    "collect it as soon as it arrives."
                )
                % {"name": point.name},
            )
    return redirect("track", tracking_number=shipment.tracking_number)


@require_POST
@login_required
def track_resend(request, tracking_number):
    """Rule 12: "Send my code again", rate-limited per parcel."""
    shipment = get_object_or_404(
        shipments_for_customer(user=request.user), tracking_number=tracking_number
    )
    try:
        code_resend(shipment=shipment)
    except NoCodeToResend:
        messages.error(request, _("This parcel has no valid code to send right now."))
    except ResendLimitReached as limit:
        messages.error(
            request,
            _(
                "You have already had this code sent %(count)d times in the last hour. "
                "You can ask again from %(time)s; meanwhile the code is on this page."
            )
            % {
                "count": settings.CODE_RESEND_MAX_PER_HOUR,
                "time": time_format(timezone.localtime(limit.next_allowed_at), "H:i"),
            },
        )
    else:
        messages.success(
            request,
            _("We have emailed your delivery code again to %(email)s.")
            % {"email": shipment.order.email},
        )
    return redirect("track", tracking_number=shipment.tracking_number)
