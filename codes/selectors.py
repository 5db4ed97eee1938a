"""Reads of delivery codes worth naming: the one thing the customer may see."""

import datetime
from dataclasses import dataclass

from django.db.models import F, FilteredRelation, Q, QuerySet

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


def with_visible_code(shipments: QuerySet[Shipment], *, now: datetime.datetime) -> QuerySet:
    """The parcels, each with its code while it can still be used read in the same statement
    (still encrypted), for visible_code_of: the tracking page's one query for both.

    A parcel has at most one active code (a unique index says so), so the usable code is
    one LEFT JOIN on that index rather than a subquery per column."""
    usable = FilteredRelation(
        "codes", condition=Q(codes__status=DeliveryCode.Status.ACTIVE, codes__valid_until__gt=now)
    )
    return shipments.annotate(
        usable_code=usable,
        visible_code_encrypted=F("usable_code__code_encrypted"),
        visible_code_delivery_day=F("usable_code__delivery_day"),
        visible_code_valid_until=F("usable_code__valid_until"),
    )


def visible_code_of(shipment: Shipment) -> VisibleCode | None:
    """The parcel's code while it can still be used, decrypted for its customer only,
    for a parcel read through with_visible_code."""
    if shipment.visible_code_encrypted is None:
        return None
    digits = tokens.decrypt(shipment.visible_code_encrypted)
    if digits is None:
        return None
    return VisibleCode(
        digits=digits,
        delivery_day=shipment.visible_code_delivery_day,
        valid_until=shipment.visible_code_valid_until,
    )


def entry_blocks_in_force(*, user) -> QuerySet[EntryBlock]:
    """Rule 6: the person's blocks on entering codes that operations have not yet lifted."""
    return EntryBlock.objects.filter(user=user, lifted_at__isnull=True)


def person_is_blocked(*, user) -> bool:
    return entry_blocks_in_force(user=user).exists()


def parcel_is_held(*, shipment: Shipment) -> bool:
    """Rule 6: held for operations after too many wrong codes, and not yet released."""
    return open_holds_of(shipment).exists()


def code_alert_for_customer(*, shipment: Shipment) -> str | None:
    """Why the customer has no code to see: 'held' (wrong codes in all; operations hold the
    parcel) or 'locked' (the current code locked; a new one comes with the next day)."""
    if shipment.is_delivered or not shipment.requires_code:
        return None
    return code_entry_closed(shipment=shipment)


def open_holds_of(shipment) -> QuerySet[ParcelHold]:
    """The parcel's hold after wrong codes, while operations have not released it; takes
    a parcel or an OuterRef to one."""
    return ParcelHold.objects.filter(shipment=shipment, released_at__isnull=True)


def current_code_of(shipment) -> QuerySet[DeliveryCode]:
    """The parcel's codes, its newest first (the current one); takes a parcel or an
    OuterRef to one."""
    return DeliveryCode.objects.filter(shipment=shipment).order_by("-issued_at", "-pk")


def code_entry_closed(*, shipment: Shipment) -> str | None:
    """Why no code can be entered for the parcel now, whoever asks (rule 15): 'held' for
    operations after wrong codes in all, or 'locked' (its current code); else None."""
    if parcel_is_held(shipment=shipment):
        return "held"
    current = current_code_of(shipment).values_list("status", flat=True).first()
    if current == DeliveryCode.Status.LOCKED:
        return "locked"
    return None
