"""Every change to orders and shipments goes through these functions."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from .days import first_working_day_from, last_collection_day, local_today, next_working_day
from .exceptions import IllegalTransition, PickupPointUnavailable
from .models import OrderItem, Shipment, TrackingEvent
from .tasks import send_delivered_receipt

# Rows per INSERT in the bulk writes.
_BATCH = 2000


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


def _tell_retailer(shipments, event_type: str, now: datetime.datetime) -> None:
    """The retailer's webhook event for the change, written in its transaction (outbox)."""
    from webhooks.services import webhook_events_record_many

    webhook_events_record_many(shipments=shipments, type=event_type, now=now)


def _locked(shipment: Shipment) -> Shipment:
    return Shipment.objects.select_for_update().select_related("order").get(pk=shipment.pk)


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


@dataclass(frozen=True)
class ShippingResult:
    """What shipments_mark_shipped did: the parcels shipped, as saved, and those refused
    because they cannot move to shipped (unchanged, with the status that forbade it)."""

    shipped: list[Shipment]
    refused: list[Shipment]


@transaction.atomic
def shipments_mark_shipped(
    *, shipments, actor, delivery_day: datetime.date | None = None
) -> ShippingResult:
    """Ship many parcels in one transaction, set-based: the same outcome as shipping each
    with shipment_mark_shipped, in a number of queries that does not grow with the parcels.

    The rows are locked (in id order, so two batches never deadlock), each transition is
    checked against the table and the illegal ones are skipped and reported, whether each
    parcel needs a code is decided with aggregate queries and frozen, the timeline events,
    codes and code emails are written in bulk, and the emails are queued once the
    transaction commits.
    """
    from codes.services import codes_issue_for_shipping  # codes' services build on these

    if isinstance(shipments, models.QuerySet):
        ids = shipments.order_by().values("pk")  # a subquery: the rows are read once, locked
    else:
        ids = [shipment.pk for shipment in shipments]
    locked = list(Shipment.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now = timezone.now()
    shipped = [s for s in locked if s.can_move_to(Shipment.Status.SHIPPED)]
    refused = [s for s in locked if not s.can_move_to(Shipment.Status.SHIPPED)]
    if not shipped:
        return ShippingResult(shipped=[], refused=refused)
    requiring = shipments_requiring_code(shipped)
    default_day = next_working_day(local_today(now))
    groups: dict[tuple[bool, datetime.date], list[int]] = defaultdict(list)
    for shipment in shipped:
        shipment.status = Shipment.Status.SHIPPED
        shipment.requires_code = shipment.pk in requiring
        shipment.delivery_day = delivery_day or shipment.delivery_day or default_day
        shipment.shipped_at = now
        groups[(shipment.requires_code, shipment.delivery_day)].append(shipment.pk)
    # One UPDATE per distinct (needs a code, delivery day): usually one or two in all.
    for (requires_code, day), pks in groups.items():
        Shipment.objects.filter(pk__in=pks).update(
            status=Shipment.Status.SHIPPED,
            requires_code=requires_code,
            delivery_day=day,
            shipped_at=now,
        )
    TrackingEvent.objects.bulk_create(
        (
            TrackingEvent(shipment=s, status=Shipment.Status.SHIPPED, actor=actor, created_at=now)
            for s in shipped
        ),
        batch_size=_BATCH,
    )
    codes_issue_for_shipping(shipments=[s for s in shipped if s.requires_code], now=now)
    _tell_retailer(shipped, "shipment.shipped", now)
    return ShippingResult(shipped=shipped, refused=refused)


def shipment_mark_shipped(
    *, shipment: Shipment, actor, delivery_day: datetime.date | None = None
) -> Shipment:
    """Ship the parcel: freeze whether it needs a code and, if so, issue and email one.

    The one-parcel case of shipments_mark_shipped; raises IllegalTransition when the
    parcel cannot be shipped (and writes nothing).
    """
    result = shipments_mark_shipped(shipments=[shipment], actor=actor, delivery_day=delivery_day)
    if result.refused:
        raise IllegalTransition(result.refused[0].status, Shipment.Status.SHIPPED)
    if not result.shipped:
        raise Shipment.DoesNotExist(f"No shipment {shipment.pk}.")
    return result.shipped[0]


@transaction.atomic
def shipment_mark_out_for_delivery(*, shipment: Shipment, actor) -> Shipment:
    """On the van today. A home delivery whose delivery day has already passed (it never
    went out that day) is delivered today instead, with a fresh code for today: its old
    code ran out with its day and the customer could not have handed it over."""
    from codes.services import code_issue

    shipment = _locked(shipment)
    now = timezone.now()
    today = local_today(now)
    _move(shipment, Shipment.Status.OUT_FOR_DELIVERY, actor=actor, now=now)
    _tell_retailer([shipment], "shipment.out_for_delivery", now)
    is_late = shipment.delivery_day is not None and shipment.delivery_day < today
    if is_late and shipment.pickup_point_id is None:
        shipment.delivery_day = today
        shipment.save(update_fields=["status", "delivery_day"])
        if shipment.requires_code:
            code_issue(shipment=shipment, delivery_day=today)
        return shipment
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
    _tell_retailer([shipment], "shipment.delivered", now)
    # Rule 17: the customer hears when, by whom and where, once the hand-over commits.
    send_delivered_receipt.delay_on_commit(shipment.pk)
    return shipment


def _reschedule(
    shipment: Shipment, *, actor, now: datetime.datetime, new_day: datetime.date, note: str
) -> Shipment:
    """Move a locked parcel to delivery_failed with a new delivery day and, if it needs one,
    a fresh code for that day (issuing it revokes the old one)."""
    from codes.services import code_issue

    _move(shipment, Shipment.Status.DELIVERY_FAILED, actor=actor, now=now, note=note)
    shipment.delivery_day = new_day
    shipment.save(update_fields=["status", "delivery_day"])
    _tell_retailer([shipment], "shipment.delivery_failed", now)
    if shipment.requires_code:
        code_issue(shipment=shipment, delivery_day=shipment.delivery_day)
    return shipment


@transaction.atomic
def shipment_reschedule(*, shipment: Shipment, actor, note: str = "") -> Shipment:
    """Rule 8: after a failed attempt the parcel gets the next delivery day and, if it
    needs one, a fresh code for that day (the old code is revoked)."""
    shipment = _locked(shipment)
    now = timezone.now()
    new_day = next_working_day(max(local_today(now), shipment.delivery_day))
    return _reschedule(shipment, actor=actor, now=now, new_day=new_day, note=note)


@transaction.atomic
def shipment_record_missed_delivery(*, shipment_id: int, now: datetime.datetime) -> bool:
    """Rule 8: the delivery day ended with the parcel still out for delivery at home.

    The parcel is recorded as a missed delivery and rescheduled like a failed attempt, for
    the first working day that has not ended yet (today, when the sweep runs just after
    midnight). False, and nothing written, when the parcel was handed over or moved on
    since it was picked out: running this twice is harmless.
    """
    today = local_today(now)
    # Locked through the sweep's own filter: PostgreSQL checks the row against it again
    # once the lock is granted, so a parcel handed over meanwhile is not found.
    shipment = missed_deliveries(today=today).select_for_update().filter(pk=shipment_id).first()
    if shipment is None:
        return False
    new_day = first_working_day_from(max(today, shipment.delivery_day + datetime.timedelta(days=1)))
    # Stored untranslated: the tracking page translates notes for whoever reads them.
    note = gettext_noop("Missed delivery: not handed over on its delivery day.")
    _reschedule(shipment, actor=None, now=now, new_day=new_day, note=note)
    return True


def _still_out_after_their_day(*, today: datetime.date):
    return Shipment.objects.filter(status=Shipment.Status.OUT_FOR_DELIVERY, delivery_day__lt=today)


def missed_deliveries(*, today: datetime.date):
    """Home deliveries whose delivery day has ended with the parcel still on the road.

    Parcels bound for a pickup point are left to shipments_record_missed_drops: their code
    is issued on arrival at the point, and that flow has its own rules.
    """
    return _still_out_after_their_day(today=today).filter(pickup_point__isnull=True)


def _check_bulk_move(source: str, target: str) -> None:
    """Set-based moves bypass _move, but not the transition table."""
    if target not in Shipment.TRANSITIONS[source]:
        raise IllegalTransition(source, target)


@transaction.atomic
def shipment_redirect_to_pickup_point(*, shipment: Shipment, pickup_point, actor) -> Shipment:
    """Send the parcel to a pickup point instead of the customer's door (rule 8).

    Allowed while the parcel can still reach a point (shipped, out for delivery, or after
    a failed attempt). The code follows when the parcel arrives there.
    """
    shipment = _locked(shipment)
    if not shipment.can_move_to(Shipment.Status.AT_PICKUP_POINT):
        raise IllegalTransition(shipment.status, Shipment.Status.AT_PICKUP_POINT)
    if not pickup_point.is_active:
        raise PickupPointUnavailable(f"{pickup_point} takes no parcels.")
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    TrackingEvent.objects.create(
        shipment=shipment,
        status=shipment.status,
        # Stored in English and translated when shown; the point is on the tracking page.
        note=gettext_noop("Redirected to a pickup point"),
        actor=actor,
        created_at=timezone.now(),
    )
    return shipment


@transaction.atomic
def shipment_receive_at_pickup_point(*, shipment: Shipment, pickup_point, actor) -> Shipment:
    """The parcel reached its pickup point (the operator confirmed receipt, or the courier
    dropped it off): it waits there to the end of the last collection day, and the
    customer is emailed the code to collect it with."""
    from codes.services import code_hold_at_pickup_point

    shipment = _locked(shipment)
    if shipment.pickup_point_id != pickup_point.pk:
        raise PickupPointUnavailable(f"{shipment} is not addressed to {pickup_point}.")
    now = timezone.now()
    _move(shipment, Shipment.Status.AT_PICKUP_POINT, actor=actor, now=now, note=pickup_point.name)
    # While the parcel is at a point its delivery day is the last day it can be collected.
    shipment.delivery_day = last_collection_day(local_today(now))
    shipment.save(update_fields=["status", "delivery_day"])
    _tell_retailer([shipment], "shipment.at_pickup_point", now)
    code_hold_at_pickup_point(
        shipment=shipment, pickup_point=pickup_point, collect_by=shipment.delivery_day
    )
    return shipment


@transaction.atomic
def shipments_return_uncollected(*, now: datetime.datetime | None = None) -> list[int]:
    """Send back every parcel whose last collection day at a pickup point has ended.

    Set-based and idempotent: one pass over the parcels still at a point past their day,
    bulk writes, and a second run finds nothing left. Returns the ids sent back; each
    customer is emailed once the transaction commits.
    """
    from codes.models import DeliveryCode

    from .tasks import send_parcel_returned_email

    now = now or timezone.now()
    _check_bulk_move(Shipment.Status.AT_PICKUP_POINT, Shipment.Status.RETURNED)
    # skip_locked: a parcel being released at this very moment is left to its release.
    overdue = list(
        Shipment.objects.select_for_update(skip_locked=True)
        .filter(
            status=Shipment.Status.AT_PICKUP_POINT,
            delivery_day__lt=local_today(now),
        )
        .values_list("pk", flat=True)
    )
    if not overdue:
        return []
    Shipment.objects.filter(pk__in=overdue).update(status=Shipment.Status.RETURNED)
    DeliveryCode.objects.filter(shipment_id__in=overdue, status=DeliveryCode.Status.ACTIVE).update(
        status=DeliveryCode.Status.EXPIRED
    )
    note = gettext_noop("Not collected in time: returned to the sender")
    TrackingEvent.objects.bulk_create(
        TrackingEvent(shipment_id=pk, status=Shipment.Status.RETURNED, note=note, created_at=now)
        for pk in overdue
    )
    for pk in overdue:
        send_parcel_returned_email.delay_on_commit(pk)
    _tell_retailer([Shipment(pk=pk) for pk in overdue], "shipment.returned", now)
    return overdue


@transaction.atomic
def shipments_record_missed_drops(*, now: datetime.datetime | None = None) -> list[int]:
    """Parcels bound for a pickup point still on the road after their delivery day: the
    courier did not drop them off. Back at the depot as a failed delivery with the next
    working day, so operations send them out again.

    No code is issued here: the customer gets the code to collect with when the parcel
    reaches the point. The day-end sweep leaves these parcels to this one. Set-based and
    idempotent: a second run finds nothing left. Returns the ids moved.
    """
    now = now or timezone.now()
    _check_bulk_move(Shipment.Status.OUT_FOR_DELIVERY, Shipment.Status.DELIVERY_FAILED)
    today = local_today(now)
    missed = list(
        _still_out_after_their_day(today=today)
        .filter(pickup_point__isnull=False)
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    if not missed:
        return []
    Shipment.objects.filter(pk__in=missed).update(
        status=Shipment.Status.DELIVERY_FAILED, delivery_day=first_working_day_from(today)
    )
    note = gettext_noop("Not dropped at the pickup point on its day: it goes out again.")
    TrackingEvent.objects.bulk_create(
        TrackingEvent(
            shipment_id=pk, status=Shipment.Status.DELIVERY_FAILED, note=note, created_at=now
        )
        for pk in missed
    )
    _tell_retailer([Shipment(pk=pk) for pk in missed], "shipment.delivery_failed", now)
    return missed
