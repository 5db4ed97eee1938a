"""The courier portal: today's stops, and at each stop the code or a failed attempt."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_POST

from codes.models import DeliveryCode
from handoff.exceptions import BoundForAPickupPoint
from handoff.services import (
    REFUSALS,
    EntryContext,
    Outcome,
    shipment_drop_at_pickup_point,
    shipment_hand_over_at_door,
    shipment_hand_over_without_code,
    shipment_record_entry_not_taken,
    shipment_record_failed_attempt,
)
from orders.days import local_today
from orders.models import Shipment
from otpdelivery.http import client_ip
from otpdelivery.stylesheet import inline_until_cached

from .forms import CodeEntryForm, FailedAttemptForm
from .models import Stop
from .selectors import (
    as_shown,
    courier_for_user,
    stops_for_courier,
    todays_stop_for_courier,
)


def courier_required(view):
    """Signed in as a courier; anyone else is told the page does not exist."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        courier = courier_for_user(request.user)
        if courier is None:
            raise Http404
        return view(request, courier, *args, **kwargs)

    return wrapper


def _todays_stop(request, tracking_number):
    """The parcel's stop on the signed-in courier's route for today; a 404 for a parcel
    never on it, so that nothing is learnt about other people's parcels. A stop moved to
    another courier is found: see _given_to_another_courier."""
    today = local_today(timezone.now())
    stop = todays_stop_for_courier(user=request.user, day=today, tracking_number=tracking_number)
    if stop is None:
        raise Http404
    return as_shown([stop])[0]


def _given_to_another_courier(request, stop):
    """Operations moved the stop to another courier's route (rule 14): the courier, whose
    page may still be open, goes back to the list, where the stop stays as the record,
    and is told why nothing was done (a code typed there is in the audit trail all the
    same: see _record_entry_not_taken)."""
    messages.warning(
        request,
        _(
            "Operations gave this parcel (%(tracking)s) to another courier: you no longer "
            "deliver it today."
        )
        % {"tracking": stop.shipment.tracking_number},
    )
    return redirect("courier_today")


@gzip_page
@inline_until_cached
@never_cache
@courier_required
def today(request, courier):
    day = local_today(timezone.now())
    stops = as_shown(stops_for_courier(user=request.user, day=day))
    blocked = any(stop.entry_blocked for stop in stops)
    return render(
        request,
        "couriers/today.html",
        {
            "stops": stops,
            "day": day,
            "blocked_message": ENTRY_MESSAGES[Outcome.BLOCKED] if blocked else None,
        },
    )


ENTRY_MESSAGES = {
    Outcome.MALFORMED: gettext_lazy(
        "A delivery code is exactly six digits (0–9). Check what you typed; "
        "this did not count as a wrong code."
    ),
    Outcome.EXPIRED: gettext_lazy(
        "This code is no longer valid. Record a failed attempt: the customer gets a new code."
    ),
    # Rule 16: not a guess, not counted; the customer has a newer code.
    Outcome.EARLIER_CODE: gettext_lazy(
        "This is an earlier code of this parcel: ask the customer for the newest."
    ),
    Outcome.LOCKED: gettext_lazy(
        "Too many wrong codes: this parcel is locked. Record a failed attempt; "
        "operations have been alerted."
    ),
    Outcome.HELD: gettext_lazy(
        "After too many wrong codes this parcel is held for operations: no code is accepted. "
        "Record a failed attempt and bring the parcel back."
    ),
    Outcome.BLOCKED: gettext_lazy(
        "You have entered too many wrong codes. Code entry is blocked until operations "
        "lift the block."
    ),
}


def _entry_error(result) -> str:
    if result.person_blocked:
        return str(ENTRY_MESSAGES[Outcome.BLOCKED])
    if result.parcel_held:
        return str(ENTRY_MESSAGES[Outcome.HELD])
    if result.outcome == Outcome.WRONG:
        if result.tries_left == 0:
            return ENTRY_MESSAGES[Outcome.LOCKED]
        return ngettext(
            "Wrong code. %(count)d try left before the parcel is locked.",
            "Wrong code. %(count)d tries left before the parcel is locked.",
            result.tries_left,
        ) % {"count": result.tries_left}
    return str(ENTRY_MESSAGES[result.outcome])


def _entry_context(request, form) -> EntryContext:
    """Who typed, from where; the position only from a code form sent (and cleaned)."""
    latitude, longitude = form.position() if form.is_bound else (None, None)
    return EntryContext(
        user=request.user, client_ip=client_ip(request), latitude=latitude, longitude=longitude
    )


def _record_entry_not_taken(request, shipment):
    """Rule 10: a code sent from a stop page left open, at a stop that takes none now, is
    recorded all the same (never checked, never counted); None for a parcel that needs no
    code (no code was typed)."""
    if not shipment.requires_code:
        return None
    form = CodeEntryForm(request.POST)
    form.is_valid()  # it refuses nothing a person could type; the position may be dropped
    return shipment_record_entry_not_taken(shipment=shipment, context=_entry_context(request, form))


@gzip_page
@inline_until_cached
@never_cache
@sensitive_post_parameters("code")
@login_required
def stop_detail(request, tracking_number):
    # No separate courier look-up: the stop is looked for on the signed-in person's own
    # route for today, so anyone who is not that courier gets a 404 from this one query.
    stop = _todays_stop(request, tracking_number)
    if stop.outcome == Stop.Outcome.MOVED:
        if request.method == "POST":
            _record_entry_not_taken(request, stop.shipment)
        return _given_to_another_courier(request, stop)
    shipment = stop.shipment
    result = None
    form = CodeEntryForm()
    # Only a stop still to do takes an action: a finished one is the record of the day.
    is_out = not stop.is_finished and shipment.status == Shipment.Status.OUT_FOR_DELIVERY
    # A parcel for a pickup point is dropped there, never handed to the customer at a door.
    can_drop = is_out and bool(shipment.pickup_point_id)
    can_hand_over = is_out and not can_drop
    if request.method == "POST" and can_hand_over:
        form = CodeEntryForm(request.POST) if shipment.requires_code else CodeEntryForm()
        if not shipment.requires_code or form.is_valid():
            context = _entry_context(request, form)
            try:
                if shipment.requires_code:
                    result = shipment_hand_over_at_door(
                        shipment=shipment, raw_code=form.cleaned_data["code"], context=context
                    )
                else:
                    result = shipment_hand_over_without_code(shipment=shipment, context=context)
            except REFUSALS:
                # A parcel without a code, moved to another courier's route or no longer
                # out for delivery since the page was read.
                messages.error(request, _("This parcel is no longer out for delivery with you."))
                return redirect("courier_today")
            if result.outcome == Outcome.MOVED_AWAY:
                # Given to another courier since the page was read: recorded, not checked.
                return _given_to_another_courier(request, stop)
            if result.delivered or result.outcome == Outcome.ALREADY_DELIVERED:
                # The answer is the confirmation itself, not a redirect to it: one round
                # trip on a slow network. Sending the POST again is safe: the parcel is
                # delivered, so no code is checked and the page says Delivered again.
                messages.success(request, _("Delivered. The parcel has been handed over."))
                # The stop as the hand-over finished it (delivered here, when the parcel
                # was), without reading it again.
                stop.outcome = Stop.Outcome.DELIVERED
                stop.finished_at = result.shipment.delivered_at
                can_hand_over = False
            else:
                form.add_error("code", _entry_error(result))
    elif request.method == "POST" and stop.outcome != Stop.Outcome.DELIVERED:
        # Sent from a page left open: the stop takes no code now (failed, or the parcel
        # went on). Recorded, never checked; the page says what became of the stop. (The
        # right code sent again once delivered is the same entry again: the confirmation
        # is shown and nothing written.)
        recorded = _record_entry_not_taken(request, shipment)
        if recorded is not None and recorded.outcome == Outcome.MOVED_AWAY:
            return _given_to_another_courier(request, stop)
    closed = None
    if can_hand_over and shipment.requires_code:
        closed = _entry_closed(stop, result)
    return render(
        request,
        "couriers/stop.html",
        {
            "stop": stop,
            "shipment": shipment,
            "form": form,
            "can_hand_over": can_hand_over,
            "can_drop": can_drop,
            # Rule 15: when no code can be accepted there is no field to type one into.
            "entry_closed": closed,
            "entry_closed_message": ENTRY_MESSAGES[closed] if closed else "",
            "failed_form": FailedAttemptForm(),
        },
    )


def _entry_closed(stop, result) -> str | None:
    """Outcome.BLOCKED, LOCKED or HELD when the stop can take no code now, else None."""
    if result is not None:
        # The entry just checked all three under the locks: no need to ask again.
        if result.person_blocked or result.outcome == Outcome.BLOCKED:
            return Outcome.BLOCKED
        # The wrong code that held the parcel (rule 6, the limit in all) may also have
        # locked its code: held says more, and is what the page says when opened again.
        if result.parcel_held:
            return Outcome.HELD
        if result.outcome in (Outcome.LOCKED, Outcome.HELD):
            return result.outcome
        if result.outcome == Outcome.WRONG and result.tries_left == 0:
            return Outcome.LOCKED
        return None
    # Read with the stop in its one statement (couriers.selectors.todays_stop_for_courier).
    if stop.entry_blocked:
        return Outcome.BLOCKED
    if stop.parcel_held:
        return Outcome.HELD
    if stop.code_status == DeliveryCode.Status.LOCKED:
        return Outcome.LOCKED
    return None


@require_POST
@courier_required
def stop_failed(request, courier, tracking_number):
    stop = _todays_stop(request, tracking_number)
    if stop.outcome == Stop.Outcome.MOVED:
        return _given_to_another_courier(request, stop)
    form = FailedAttemptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose why the parcel could not be handed over."))
        return redirect("courier_stop", tracking_number=tracking_number)
    try:
        # A second tap finds the attempt already recorded and answers the same.
        shipment_record_failed_attempt(
            shipment=stop.shipment, courier=courier, reason=form.cleaned_data["reason"]
        )
    except BoundForAPickupPoint as refusal:
        # Redirected while the stop page was open at the door: its stop is now the drop.
        messages.error(
            request,
            _("This parcel now goes to %(name)s: drop it there.")
            % {"name": refusal.shipment.pickup_point.name},
        )
        return redirect("courier_stop", tracking_number=tracking_number)
    except REFUSALS:
        messages.error(request, _("This parcel is no longer out for delivery with you."))
        return redirect("courier_stop", tracking_number=tracking_number)
    messages.info(
        request,
        _("Failed attempt recorded for %(tracking)s. The customer gets a new delivery day.")
        % {"tracking": tracking_number},
    )
    return redirect("courier_today")


@require_POST
@courier_required
def stop_dropped(request, courier, tracking_number):
    """The courier left the parcel with the operator of its pickup point."""
    stop = _todays_stop(request, tracking_number)
    if stop.outcome == Stop.Outcome.MOVED:
        return _given_to_another_courier(request, stop)
    shipment = stop.shipment
    try:
        # A second tap finds the parcel already at the point and answers the same.
        shipment = shipment_drop_at_pickup_point(shipment=shipment, courier=courier)
    except REFUSALS:
        messages.error(request, _("This parcel is not to be dropped at a pickup point."))
        return redirect("courier_stop", tracking_number=tracking_number)
    messages.success(
        request,
        _("%(tracking)s dropped at %(name)s. The customer has been emailed their code.")
        % {"tracking": tracking_number, "name": shipment.pickup_point.name},
    )
    return redirect("courier_today")
