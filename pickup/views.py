"""The pickup-point portal: the parcels waiting at my point, release by code, receipt."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from codes.selectors import person_is_blocked
from couriers.views import ENTRY_MESSAGES as COURIER_MESSAGES
from handoff.services import (
    REFUSALS,
    EntryContext,
    Outcome,
    shipment_hand_over_at_counter,
    shipment_receive_at_pickup_point,
)
from otpdelivery.http import client_ip

from .forms import ReceiptForm, ReleaseForm
from .selectors import (
    parcels_on_their_way_to,
    parcels_released_at,
    parcels_to_receive_at,
    parcels_waiting_at,
    pickup_points_for_operator,
)

RELEASE_MESSAGES = {
    Outcome.MALFORMED: COURIER_MESSAGES[Outcome.MALFORMED],
    Outcome.BLOCKED: COURIER_MESSAGES[Outcome.BLOCKED],
    Outcome.WRONG: gettext_lazy(
        "No parcel waiting here has this code. Ask the customer to check it: it is in their "
        "email and on their Track my package page."
    ),
    Outcome.EXPIRED: gettext_lazy(
        "This parcel's collection period is over: do not hand it over. It goes back to the sender."
    ),
    Outcome.EARLIER_CODE: COURIER_MESSAGES[Outcome.EARLIER_CODE],
    Outcome.LOCKED: gettext_lazy(
        "This parcel is locked after too many wrong codes: do not hand it over. Operations "
        "have been alerted."
    ),
    Outcome.HELD: gettext_lazy(
        "This parcel is held for operations after too many wrong codes: do not hand it "
        "over until they release it."
    ),
}


def operator_required(view):
    """Signed in as an operator of the point in the URL; anyone else gets a 404."""

    @wraps(view)
    @login_required
    def wrapper(request, point_id, *args, **kwargs):
        point = get_object_or_404(pickup_points_for_operator(user=request.user), pk=point_id)
        return view(request, point, *args, **kwargs)

    return wrapper


@never_cache
@login_required
def pickup_home(request):
    points = list(pickup_points_for_operator(user=request.user))
    if not points:
        raise Http404
    if len(points) == 1:
        return redirect("pickup_point", point_id=points[0].pk)
    return render(request, "pickup/choose.html", {"points": points})


def _release_error(result) -> str:
    if result.person_blocked:
        return str(RELEASE_MESSAGES[Outcome.BLOCKED])
    return str(RELEASE_MESSAGES[result.outcome])


@never_cache
@sensitive_post_parameters("code")
@operator_required
def point_detail(request, point):
    form = ReleaseForm()
    result = None
    if request.method == "POST":
        form = ReleaseForm(request.POST)
        if form.is_valid():
            result = shipment_hand_over_at_counter(
                pickup_point=point,
                raw_code=form.cleaned_data["code"],
                context=EntryContext(user=request.user, client_ip=client_ip(request)),
            )
            if result.delivered or result.outcome == Outcome.ALREADY_DELIVERED:
                return redirect(
                    "pickup_released",
                    point_id=point.pk,
                    tracking_number=result.shipment.tracking_number,
                )
            form.add_error("code", _release_error(result))
    # The entry just checked the block under the person's lock: no need to ask again.
    entry_blocked = None
    if result is not None:
        entry_blocked = result.person_blocked or result.outcome == Outcome.BLOCKED
    return _render_point(
        request, point, release_form=form, receipt_form=ReceiptForm(), entry_blocked=entry_blocked
    )


def _render_point(request, point, *, release_form, receipt_form, entry_blocked=None):
    return render(
        request,
        "pickup/point.html",
        {
            "point": point,
            "waiting": list(parcels_waiting_at(pickup_point=point)),
            "on_their_way": list(parcels_on_their_way_to(pickup_point=point)),
            "form": release_form,
            "receipt_form": receipt_form,
            "entry_blocked": (
                person_is_blocked(user=request.user) if entry_blocked is None else entry_blocked
            ),
            "blocked_message": RELEASE_MESSAGES[Outcome.BLOCKED],
        },
    )


@never_cache
@require_POST
@operator_required
def point_receive(request, point):
    """The operator confirms a parcel has arrived, by its tracking number."""
    form = ReceiptForm(request.POST)
    if form.is_valid():
        shipment = (
            parcels_to_receive_at(pickup_point=point)
            .filter(tracking_number=form.cleaned_data["tracking_number"])
            .first()
        )
        if shipment is not None:
            try:
                # A second tap finds the parcel already waiting here and answers the same.
                shipment_receive_at_pickup_point(
                    shipment=shipment, pickup_point=point, actor=request.user
                )
            except REFUSALS:
                # The parcel moved on meanwhile (released, sent back): the page shows where.
                return redirect("pickup_point", point_id=point.pk)
            messages.success(
                request,
                _(
                    "Parcel %(tracking)s received. It waits here and the customer has been "
                    "emailed the code to collect it."
                )
                % {"tracking": shipment.tracking_number},
            )
            return redirect("pickup_point", point_id=point.pk)
        form.add_error(
            "tracking_number",
            _(
                "No parcel with this tracking number is on its way to this point. Check the "
                "number on the label."
            ),
        )
    return _render_point(request, point, release_form=ReleaseForm(), receipt_form=form)


@never_cache
@operator_required
def point_released(request, point, tracking_number):
    shipment = get_object_or_404(
        parcels_released_at(pickup_point=point), tracking_number=tracking_number
    )
    return render(request, "pickup/released.html", {"point": point, "shipment": shipment})
