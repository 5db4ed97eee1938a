"""Reads of delivery codes worth naming: the one thing the customer may see."""

import datetime
from dataclasses import dataclass

from orders.days import last_valid_minute
from orders.models import Shipment

from . import tokens
from .models import DeliveryCode, EntryBlock, ParcelHold


@dataclass(frozen=True)
class VisibleCode:
    digits: str
    delivery_day: datetime.date
    valid_until: datetime.datetime

    @property
    def grouped(self) -> str:
        return tokens.group_for_reading(self.digits)

    @property
    def last_valid_minute(self) -> datetime.datetime:
        return last_valid_minute(self.valid_until)


def code_visible_to_customer(*, shipment: Shipment, now: datetime.datetime) -> VisibleCode | None:
    """The parcel's code while it can still be used, decrypted for its customer only."""
    code = (
        DeliveryCode.objects.filter(
            shipment=shipment, status=DeliveryCode.Status.ACTIVE, valid_until__gt=now
        )
        .only("code_encrypted", "delivery_day", "valid_until")
        .first()
    )
    if code is None:
        return None
    digits = tokens.decrypt(code.code_encrypted)
    if digits is None:
        return None
    return VisibleCode(digits=digits, delivery_day=code.delivery_day, valid_until=code.valid_until)


def person_is_blocked(*, user) -> bool:
    """Rule 6: operations have not yet lifted this person's block on entering codes."""
    return EntryBlock.objects.filter(user=user, lifted_at__isnull=True).exists()


def code_alert_for_customer(*, shipment: Shipment) -> str | None:
    """Why the customer has no code to see: 'held' (wrong codes in all; operations hold the
    parcel) or 'locked' (the current code locked; a new one comes with the next day)."""
    if shipment.is_delivered or not shipment.requires_code:
        return None
    if ParcelHold.objects.filter(shipment=shipment, released_at__isnull=True).exists():
        return "held"
    current = shipment.codes.order_by("-issued_at", "-pk").values_list("status", flat=True).first()
    if current == DeliveryCode.Status.LOCKED:
        return "locked"
    return None
