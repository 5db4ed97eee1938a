"""Every change to orders and shipments goes through these functions."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .days import local_today, next_working_day
from .exceptions import IllegalTransition
from .models import Shipment, TrackingEvent


def _move(
    shipment: Shipment, target: str, *, actor, now: datetime.datetime, note: str = ""
) -> None:
    """Check the transition table, set the status and append the timeline event.

    The caller holds the shipment's row lock and saves the shipment.
    """
    if not shipment.can_move_to(target):
        raise IllegalTransition(shipment.status, target)
    shipment.status = target
    TrackingEvent.objects.create(
        shipment=shipment, status=target, note=note, actor=actor, created_at=now
    )


def _locked(shipment: Shipment) -> Shipment:
    return Shipment.objects.select_for_update().select_related("order").get(pk=shipment.pk)


def shipment_requires_code(shipment: Shipment) -> bool:
    """Rule 1: the order is worth the threshold or more, or the parcel holds a flagged item."""
    if shipment.order.value() >= settings.SECURE_DELIVERY_THRESHOLD_EUR:
        return True
    items = shipment.items.all()
    if not items.exists():
        # A parcel with no items assigned carries the whole order.
        items = shipment.order.items.all()
    return items.filter(requires_secure_delivery=True).exists()


@transaction.atomic
def shipment_mark_shipped(
    *, shipment: Shipment, actor, delivery_day: datetime.date | None = None
) -> Shipment:
    """Ship the parcel: freeze whether it needs a code and, if so, issue and email one."""
    from codes.services import code_issue  # codes' services build on these ones

    shipment = _locked(shipment)
    now = timezone.now()
    if not shipment.can_move_to(Shipment.Status.SHIPPED):
        raise IllegalTransition(shipment.status, Shipment.Status.SHIPPED)
    shipment.requires_code = shipment_requires_code(shipment)
    shipment.delivery_day = (
        delivery_day or shipment.delivery_day or next_working_day(local_today(now))
    )
    shipment.shipped_at = now
    _move(shipment, Shipment.Status.SHIPPED, actor=actor, now=now)
    shipment.save(update_fields=["status", "requires_code", "delivery_day", "shipped_at"])
    if shipment.requires_code:
        code_issue(shipment=shipment, delivery_day=shipment.delivery_day)
    return shipment


@transaction.atomic
def shipment_mark_out_for_delivery(*, shipment: Shipment, actor) -> Shipment:
    shipment = _locked(shipment)
    _move(shipment, Shipment.Status.OUT_FOR_DELIVERY, actor=actor, now=timezone.now())
    shipment.save(update_fields=["status"])
    return shipment


def shipment_mark_delivered(
    *, shipment: Shipment, actor, now: datetime.datetime, note: str = ""
) -> Shipment:
    """Hand the parcel over. Called by the code services inside their transaction, with
    the shipment already locked, so that a parcel is delivered exactly once."""
    _move(shipment, Shipment.Status.DELIVERED, actor=actor, now=now, note=note)
    shipment.delivered_at = now
    shipment.delivered_by = actor
    shipment.save(update_fields=["status", "delivered_at", "delivered_by"])
    return shipment


@transaction.atomic
def shipment_reschedule(*, shipment: Shipment, actor, note: str = "") -> Shipment:
    """Rule 8: after a failed attempt the parcel gets the next delivery day and, if it
    needs one, a fresh code for that day (the old code is revoked)."""
    from codes.services import code_issue

    shipment = _locked(shipment)
    now = timezone.now()
    _move(shipment, Shipment.Status.DELIVERY_FAILED, actor=actor, now=now, note=note)
    shipment.delivery_day = next_working_day(max(local_today(now), shipment.delivery_day))
    shipment.save(update_fields=["status", "delivery_day"])
    if shipment.requires_code:
        code_issue(shipment=shipment, delivery_day=shipment.delivery_day)
    return shipment
