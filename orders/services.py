"""The parcel's own record: status moves checked against the transition table, its
timeline, and rule 1. Nothing here knows of codes, routes or people's locks: the hand-over
layer (`handoff.services`) calls these inside its transactions, with the rows locked."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum

from otpdelivery.writes import WriteBatch

from .exceptions import IllegalTransition
from .models import OrderItem, Shipment, TrackingEvent

# Rows per INSERT in the bulk writes.
BATCH_SIZE = 2000


def shipment_check_move(*, source: str, target: str) -> None:
    """The one check of the transition table, for single and set-based moves alike."""
    if target not in Shipment.TRANSITIONS[Shipment.Status(source)]:
        raise IllegalTransition(source, target)


def shipment_move(
    *,
    shipment: Shipment,
    target: str,
    actor,
    now: datetime.datetime,
    note: str = "",
    fields: tuple[str, ...] = (),
    writes: WriteBatch | None = None,
) -> Shipment:
    """Check the transition table, set the status, save it with `fields` and append the
    timeline event. The caller holds the shipment's row lock. With `writes`, both go with
    the caller's other writes, sent by the caller."""
    shipment_check_move(source=shipment.status, target=target)
    shipment.status = target
    event = TrackingEvent(shipment=shipment, status=target, note=note, actor=actor, created_at=now)
    if writes is None:
        shipment.save(update_fields=["status", *fields])
        event.save(force_insert=True)
    else:
        writes.update_fields(shipment, ["status", *fields])
        writes.insert(event)
    return shipment


def tracking_event_add(
    *, shipment: Shipment, status: str, actor, now: datetime.datetime, note: str = ""
) -> TrackingEvent:
    """A line on the timeline without a change of status (a redirect, a new day)."""
    return TrackingEvent.objects.create(
        shipment=shipment, status=status, note=note, actor=actor, created_at=now
    )


def shipment_mark_delivered(
    *,
    shipment: Shipment,
    actor,
    now: datetime.datetime,
    note: str = "",
    writes: WriteBatch | None = None,
) -> Shipment:
    """Record the hand-over on the parcel. The caller holds its row lock and has checked
    that it may be handed over (its code, or no code needed, or an override)."""
    shipment.delivered_at = now
    shipment.delivered_by = actor
    return shipment_move(
        shipment=shipment,
        target=Shipment.Status.DELIVERED,
        actor=actor,
        now=now,
        note=note,
        fields=("delivered_at", "delivered_by"),
        writes=writes,
    )


def shipments_requiring_code(shipments) -> set[int]:
    """Rule 1 for many parcels at once, in two aggregate queries: the ids of those whose
    order is worth the threshold or more, or that hold a flagged item (a parcel with no
    items assigned carries the whole order, so the order's items count)."""
    shipments = list(shipments)
    if not shipments:
        return set()
    flagged = Count("pk", filter=Q(requires_secure_delivery=True))
    orders = {
        row["order_id"]: row
        for row in OrderItem.objects.filter(order_id__in={s.order_id for s in shipments})
        .order_by()
        .values("order_id")
        .annotate(total=Sum(F("unit_price") * F("quantity")), flagged=flagged)
    }
    own_items = {
        row["shipment_id"]: row["flagged"]
        for row in OrderItem.objects.filter(shipment_id__in=[s.pk for s in shipments])
        .order_by()
        .values("shipment_id")
        .annotate(flagged=flagged)
    }
    threshold = settings.SECURE_DELIVERY_THRESHOLD_EUR
    requiring = set()
    for shipment in shipments:
        order = orders.get(shipment.order_id, {"total": None, "flagged": 0})
        worth = order["total"] or Decimal("0.00")
        # The parcel's own items when it has any, else the whole order's.
        if worth >= threshold or own_items.get(shipment.pk, order["flagged"]):
            requiring.add(shipment.pk)
    return requiring
