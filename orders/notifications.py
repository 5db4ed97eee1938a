"""Emails about parcels that carry no code: what happened to the parcel, never a code."""

from django.utils import timezone

from otpdelivery.emails import render_email
from otpdelivery.signin_links import report_signin_url, tracking_signin_url

from .days import delivery_time_zone
from .models import Shipment


def send_returned_email(shipment: Shipment) -> bool:
    """The parcel was not collected from its pickup point in time and goes back."""
    render_email(
        template="orders/email/returned",
        context={
            "shipment": shipment,
            "order": shipment.order,
            "pickup_point": shipment.pickup_point,
            "tracking_url": tracking_signin_url(shipment),
        },
        to=shipment.order.email,
        language=shipment.order.language,
    ).send()
    return True


# The override's timeline note, as codes' services store it (untranslated).
OVERRIDE_NOTE = "Handed over by operations without the code"


def _handed_over_where(shipment: Shipment) -> str:
    """ "door", "pickup_point" or "override", read from the parcel's delivered event."""
    event = shipment.events.filter(status=Shipment.Status.DELIVERED).order_by("-pk").first()
    note = event.note if event else ""
    if note == OVERRIDE_NOTE:
        return "override"
    if shipment.pickup_point_id and note == shipment.pickup_point.name:
        return "pickup_point"
    return "door"


def send_delivered_receipt_email(shipment: Shipment) -> bool:
    """Rule 17: when, by whom and where the parcel was handed over, with a link to report
    "this was not me". Never a code.

    Sent once per parcel: before sending, one UPDATE claims the receipt in the parcel's
    row (receipt_sent_at set only where it is still empty, which one worker alone can win);
    if sending fails, the claim is released so that the task's retry sends it. False when
    it was already sent (or is being sent)."""
    now = timezone.now()
    claimed = Shipment.objects.filter(
        pk=shipment.pk, status=Shipment.Status.DELIVERED, receipt_sent_at__isnull=True
    ).update(receipt_sent_at=now)
    if not claimed:
        return False
    try:
        _delivered_receipt(shipment).send()
    except Exception:
        Shipment.objects.filter(pk=shipment.pk, receipt_sent_at=now).update(receipt_sent_at=None)
        raise
    return True


def _delivered_receipt(shipment: Shipment):
    person = shipment.delivered_by
    return render_email(
        template="orders/email/delivered",
        context={
            "shipment": shipment,
            "order": shipment.order,
            "delivered_at": timezone.localtime(shipment.delivered_at, delivery_time_zone()),
            "handed_over_by": (person.get_full_name() or person.get_username()) if person else "",
            "where": _handed_over_where(shipment),
            "pickup_point": shipment.pickup_point,
            "tracking_url": tracking_signin_url(shipment),
            "report_url": report_signin_url(shipment),
        },
        to=shipment.order.email,
        language=shipment.order.language,
    )
