"""Display helpers for a parcel's tracking page: the steps of its journey so far."""

from dataclasses import dataclass

from django import template
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.days import local_today
from orders.models import Shipment
from otpdelivery.opening_hours import collection_deadline as deadline_for
from otpdelivery.opening_hours import localised as localised_hours

register = template.Library()

Status = Shipment.Status


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # "done", "current", "todo" or "problem"


# The note the redirect service writes on the timeline (stored untranslated).
REDIRECT_NOTE = "Redirected to a pickup point"

# Where a parcel bound for a pickup point can be before it arrives there: a redirect after
# a failed attempt and a drop the courier missed both leave it shipped (never failed).
_ON_ITS_WAY_TO_A_POINT = {Status.SHIPPED, Status.OUT_FOR_DELIVERY}


def status_for_customer(shipment: Shipment) -> str:
    """Rule 15: a parcel bound for a pickup point is on its way there (`shipped`) until it
    arrives, also while on the courier's van for the point: the customer's next step is
    the point, not their door."""
    if shipment.pickup_point_id is not None and shipment.status in _ON_ITS_WAY_TO_A_POINT:
        return Status.SHIPPED
    return shipment.status


@register.filter
def customer_status(shipment: Shipment) -> str:
    return status_for_customer(shipment)


@register.filter
def customer_status_label(shipment: Shipment) -> str:
    return Status(status_for_customer(shipment)).label


@dataclass(frozen=True)
class TimelineEntry:
    status: str
    label: str
    note: str


@register.filter
def timeline_entry(event) -> TimelineEntry:
    """A redirect is recorded with the parcel's status of the moment (after a failed attempt,
    `delivery_failed`), but it is a step on the way, not a failure: shown as such."""
    if event.note == REDIRECT_NOTE:
        return TimelineEntry(Status.SHIPPED, _("On its way to the pickup point"), event.note)
    return TimelineEntry(event.status, event.get_status_display(), event.note)


def shipment_progress(shipment: Shipment) -> list[Step]:
    """Order placed → shipped → out for delivery (or at the pickup point) → delivered.

    A failed attempt or a return takes the place of the step the parcel could not reach, so
    the customer sees where it stopped; a rescheduled parcel is out for delivery again.
    """
    status = status_for_customer(shipment)
    via_pickup = shipment.pickup_point_id is not None or status == Status.AT_PICKUP_POINT
    last_leg = Status.AT_PICKUP_POINT if via_pickup else Status.OUT_FOR_DELIVERY
    journey = [
        (Status.PROCESSING, _("Order placed")),
        (Status.SHIPPED, Status.SHIPPED.label),
        (last_leg, last_leg.label),
        (Status.DELIVERED, Status.DELIVERED.label),
    ]
    if status in (Status.DELIVERY_FAILED, Status.RETURNED):
        reached = 2 if status == Status.DELIVERY_FAILED else 1
        steps = [Step(label, "done") for _status, label in journey[:reached]]
        steps.append(Step(Status(status).label, "problem"))
        if status == Status.DELIVERY_FAILED:
            steps.append(Step(Status.DELIVERED.label, "todo"))
        return steps
    position = [step_status for step_status, _label in journey].index(status)
    # Delivered is the end of the journey: complete, not a step still in progress.
    finished = status == Status.DELIVERED

    def state(index: int) -> str:
        if index < position or finished:
            return "done"
        return "current" if index == position else "todo"

    return [Step(label, state(index)) for index, (_status, label) in enumerate(journey)]


@register.inclusion_tag("orders/_progress.html")
def progress(shipment: Shipment) -> dict:
    return {"steps": shipment_progress(shipment)}


@register.filter
def relative_day(day) -> str:
    """ "Today" or "Tomorrow" for a delivery day near the local today, else nothing."""
    if day is None:
        return ""
    offset = (day - local_today(timezone.now())).days
    return {0: _("Today"), 1: _("Tomorrow")}.get(offset, "")


@register.filter
def opening_hours(text: str) -> str:
    """A pickup point's opening hours in the reader's language."""
    return localised_hours(text or "")


@register.simple_tag
def collection_deadline(shipment: Shipment) -> dict | None:
    """{"day", "closes"} to tell a customer by when to collect a parcel waiting at its point;
    `closes` is None when the point's hours are not known."""
    if shipment.status != Status.AT_PICKUP_POINT or shipment.pickup_point is None:
        return None
    day, closes = deadline_for(
        shipment.pickup_point.opening_hours,
        last_day=shipment.delivery_day,
        today=local_today(timezone.now()),
    )
    return {"day": day, "closes": closes}
