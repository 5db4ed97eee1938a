"""The hand-over layer: every change of a parcel's life, whoever asks for it (rule 13).

Courier, operator, customer, operations in the admin, the retailer API and the periodic
tasks all call these services, and nothing else changes a parcel's status, delivery day,
pickup point, route or codes. Each service is one transaction that writes its tracking
event and audit rows with the change; takes its row locks through `handoff.locks`, in one
order (person, parcel, codes, route); and, when it finds the parcel already where it would
put it (a double tap, two people at once), answers as done with the same result instead
of an error. A refusal is an `handoff.exceptions.ActionRefused` (or `IllegalTransition`),
which callers show as a message.

Lower apps know nothing of this one: `orders` keeps the parcel's record (status moves
checked against `Shipment.TRANSITIONS`, the timeline), `codes` issues, checks and expires
codes and returns outcomes; this layer calls both and acts on what they return.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, replace

from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_noop

from alerts.models import Alert
from alerts.services import alert_open
from codes import tokens
from codes.exceptions import CodeEntryNotAllowed, OverrideReasonMissing
from codes.lifecycle import parcel_hold_release
from codes.models import CodeEntry, DeliveryCode
from codes.services import (
    EntryContext,
    EntryResult,
    code_entry_check,
    code_entry_malformed,
    code_entry_record,
    code_entry_refused_if_blocked,
    code_entry_state,
    code_entry_wrong_without_parcel,
    code_find_at_pickup_point,
    code_hold_at_pickup_point,
    code_issue,
    codes_expire_ended,
    codes_expire_of,
    codes_issue,
    codes_revoke_for_override,
)
from couriers.models import Courier, DeliveryAttempt, Route, Stop
from orders.days import first_working_day_from, last_collection_day, local_today, next_working_day
from orders.exceptions import IllegalTransition, PickupPointUnavailable
from orders.models import Shipment, TrackingEvent
from orders.selectors import missed_deliveries, missed_drops, not_sent_out
from orders.services import (
    BATCH_SIZE,
    shipment_check_move,
    shipment_mark_delivered,
    shipment_move,
    shipments_requiring_code,
    tracking_event_add,
)
from orders.tasks import send_delivered_receipt, send_parcel_returned_email
from otpdelivery.background import delay_on_commit_in_background
from otpdelivery.writes import WriteBatch
from webhooks.models import EventType
from webhooks.services import webhook_events_record_many

from . import locks
from .entry_state import door_entry_state
from .exceptions import (
    ActionRefused,
    BoundForAPickupPoint,
    NotItsDeliveryDay,
    NotOnARoute,
    NotYourStop,
    OnAnotherRoute,
    StopFinished,
)

__all__ = [
    "REFUSALS",
    "ROUTED_STATUSES",
    "EntryContext",
    "EntryResult",
    "Outcome",
]

logger = logging.getLogger(__name__)

Outcome = CodeEntry.Outcome
Status = Shipment.Status

# What a caller catches to tell the person their action was refused.
REFUSALS = (ActionRefused, IllegalTransition, PickupPointUnavailable)

# Where a parcel can be to go on a route (or be moved to another): at the depot, shipped or
# after a failed attempt, or already out for delivery.
ROUTED_STATUSES = frozenset({Status.SHIPPED, Status.DELIVERY_FAILED, Status.OUT_FOR_DELIVERY})

# The shortest reason operations may give for an override: a sentence, not "ok".
OVERRIDE_REASON_MIN_LENGTH = 10


def _tell_retailer(shipments, event_type: str, now: datetime.datetime) -> None:
    """The retailer's webhook event for the change, written in its transaction (an outbox
    row, sent after the commit). Never holds a code."""
    webhook_events_record_many(shipments=shipments, type=event_type, now=now)


# --- Routes ---------------------------------------------------------------------------------


def _stop_of_day(shipment: Shipment, day: datetime.date) -> Stop | None:
    """The parcel's stop on a route of `day` (at most one, the database says so)."""
    return (
        Stop.objects.select_related("route__courier")
        .filter(shipment=shipment, day=day)
        .exclude(outcome=Stop.Outcome.MOVED)
        .first()
    )


def _append_stop(*, shipment: Shipment, route: Route) -> Stop:
    """The parcel at the end of the route. The caller holds the parcel's lock."""
    route = locks.lock_route(route.pk)
    last = route.stops.aggregate(last=Max("position"))["last"] or 0
    return Stop.objects.create(route=route, shipment=shipment, day=route.day, position=last + 1)


def _finish_stop(
    stop: Stop | None,
    *,
    outcome: str,
    shipment: Shipment,
    now,
    note="",
    writes: WriteBatch | None = None,
) -> None:
    """Write what happened at a stop still to do; a finished stop is never rewritten."""
    if stop is None or stop.is_finished:
        return
    stop.outcome = outcome
    stop.note = note
    stop.pickup_point_id = shipment.pickup_point_id
    stop.finished_at = now
    fields = ["outcome", "note", "pickup_point", "finished_at"]
    if writes is None:
        stop.save(update_fields=fields)
    else:
        writes.update_fields(stop, fields)


def _drop_pending_stops(
    shipment_ids: list[int], *, today: datetime.date, keep_day: datetime.date | None = None
) -> None:
    """Stops still to do on days not yet over, but `keep_day`'s, go: the parcels will not be
    there (a finished or past stop stays as the record of its day)."""
    Stop.objects.filter(
        shipment_id__in=shipment_ids, outcome=Stop.Outcome.PENDING, day__gte=today
    ).exclude(day=keep_day).delete()


def _place_on_courier_routes(
    shipment_ids: list[int], *, couriers: dict[int, int], day: datetime.date, today: datetime.date
) -> None:
    """Rule 14: parcels (locked) given a new day go to the end of their courier's route for
    that day, created if needed, in id order; their stops still to do on other days not
    over are dropped. One parcel or a day's end of them, in the same statements."""
    _drop_pending_stops(shipment_ids, today=today, keep_day=day)
    placed = set(
        Stop.objects.filter(shipment_id__in=shipment_ids, day=day)
        .exclude(outcome=Stop.Outcome.MOVED)
        .values_list("shipment_id", flat=True)
    )
    by_courier: dict[int, list[int]] = defaultdict(list)
    for shipment_id in shipment_ids:
        if shipment_id not in placed and couriers.get(shipment_id) is not None:
            by_courier[couriers[shipment_id]].append(shipment_id)
    for courier_id, ids in sorted(by_courier.items()):
        route, _created = Route.objects.get_or_create(courier_id=courier_id, day=day)
        route = locks.lock_route(route.pk)
        last = route.stops.aggregate(last=Max("position"))["last"] or 0
        Stop.objects.bulk_create(
            (
                Stop(route=route, shipment_id=shipment_id, day=day, position=last + offset)
                for offset, shipment_id in enumerate(ids, start=1)
            ),
            batch_size=BATCH_SIZE,
        )


def _its_courier_id(shipment: Shipment) -> int | None:
    """The courier of the parcel's latest stop: the one who takes it out again."""
    return (
        Stop.objects.filter(shipment=shipment)
        .exclude(outcome=Stop.Outcome.MOVED)
        .order_by("-day", "-pk")
        .values_list("route__courier_id", flat=True)
        .first()
    )


@transaction.atomic
def shipment_add_to_route(*, shipment: Shipment, route: Route, actor=None) -> Stop:
    """Put the parcel at the end of a route of its delivery day (operations, by tracking
    number). Already on that route: its stop, as done. On another courier's route that day:
    refused (shipment_move_to_route moves it)."""
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.status not in ROUTED_STATUSES:
        raise ActionRefused(f"{shipment} is {shipment.status}: it goes on no route.")
    if shipment.delivery_day != route.day:
        raise NotItsDeliveryDay(f"{shipment} is due on {shipment.delivery_day}, not {route.day}.")
    stop = _stop_of_day(shipment, route.day)
    if stop is not None:
        if stop.route_id == route.pk:
            return stop
        raise OnAnotherRoute(f"{shipment} is on {stop.route} that day.")
    return _append_stop(shipment=shipment, route=route)


@transaction.atomic
def shipment_move_to_route(*, shipment: Shipment, route: Route, actor) -> Stop:
    """Operations give the parcel to another courier for its day (rule 14): its stop on
    the other route, still to do, is kept there as moved, and it joins this route at the
    end. Already on this route: its stop, as done."""
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.status not in ROUTED_STATUSES:
        raise ActionRefused(f"{shipment} is {shipment.status}: it goes on no route.")
    if shipment.delivery_day != route.day:
        raise NotItsDeliveryDay(f"{shipment} is due on {shipment.delivery_day}, not {route.day}.")
    stop = _stop_of_day(shipment, route.day)
    if stop is not None and stop.route_id == route.pk:
        return stop
    if stop is not None:
        if stop.is_finished:
            raise StopFinished(stop)
        _finish_stop(stop, outcome=Stop.Outcome.MOVED, shipment=shipment, now=timezone.now())
    return _append_stop(shipment=shipment, route=route)


# --- Shipping -------------------------------------------------------------------------------


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
    if isinstance(shipments, models.QuerySet):
        ids = shipments.order_by().values("pk")  # a subquery: the rows are read once, locked
    else:
        ids = [shipment.pk for shipment in shipments]
    locks.lock_person(actor)
    locked = locks.lock_shipments(ids)
    now = timezone.now()
    shipped = [s for s in locked if s.can_move_to(Status.SHIPPED)]
    refused = [s for s in locked if not s.can_move_to(Status.SHIPPED)]
    if not shipped:
        return ShippingResult(shipped=[], refused=refused)
    shipment_check_move(source=Status.PROCESSING, target=Status.SHIPPED)
    requiring = shipments_requiring_code(shipped)
    default_day = next_working_day(local_today(now))
    groups: dict[tuple[bool, datetime.date], list[int]] = defaultdict(list)
    for shipment in shipped:
        shipment.status = Status.SHIPPED
        shipment.requires_code = shipment.pk in requiring
        shipment.delivery_day = delivery_day or shipment.delivery_day or default_day
        shipment.shipped_at = now
        groups[(shipment.requires_code, shipment.delivery_day)].append(shipment.pk)
    # One UPDATE per distinct (needs a code, delivery day): usually one or two in all.
    for (requires_code, day), pks in groups.items():
        Shipment.objects.filter(pk__in=pks).update(
            status=Status.SHIPPED, requires_code=requires_code, delivery_day=day, shipped_at=now
        )
    TrackingEvent.objects.bulk_create(
        (
            TrackingEvent(shipment=s, status=Status.SHIPPED, actor=actor, created_at=now)
            for s in shipped
        ),
        batch_size=BATCH_SIZE,
    )
    codes_issue(shipments=[s for s in shipped if s.requires_code], now=now)
    _tell_retailer(shipped, EventType.SHIPPED, now)
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
        raise IllegalTransition(result.refused[0].status, Status.SHIPPED)
    if not result.shipped:
        raise Shipment.DoesNotExist(f"No shipment {shipment.pk}.")
    return result.shipped[0]


# --- Out for delivery -----------------------------------------------------------------------


@transaction.atomic
def shipment_mark_out_for_delivery(
    *, shipment: Shipment, actor, route: Route | None = None
) -> Shipment:
    """On the van: only on the parcel's delivery day and only on a route of that day
    (rule 13). With `route`, the parcel is first put on it; without, it must already be on
    a route of its day. Already out for delivery: answered as done."""
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.status == Status.OUT_FOR_DELIVERY:
        return shipment
    today = local_today(timezone.now())
    if shipment.delivery_day != today:
        raise NotItsDeliveryDay(f"{shipment} is due on {shipment.delivery_day}, not today.")
    shipment_check_move(source=shipment.status, target=Status.OUT_FOR_DELIVERY)
    stop = _stop_of_day(shipment, today)
    if stop is None and route is not None:
        if route.day != today:
            raise NotItsDeliveryDay(f"{route} is not a route of {shipment}'s day.")
        stop = _append_stop(shipment=shipment, route=route)
    if stop is None:
        raise NotOnARoute(f"{shipment} is on no route today.")
    if route is not None and stop.route_id != route.pk:
        raise OnAnotherRoute(f"{shipment} is on {stop.route} today.")
    if stop.is_finished:
        raise StopFinished(stop)
    now = timezone.now()
    shipment_move(shipment=shipment, target=Status.OUT_FOR_DELIVERY, actor=actor, now=now)
    _tell_retailer([shipment], EventType.OUT_FOR_DELIVERY, now)
    return shipment


# --- Hand-over ------------------------------------------------------------------------------


def _check_stop_is_theirs(shipment: Shipment, user, day) -> Stop:
    stop = _stop_of_day(shipment, day)
    if stop is None or stop.route.courier.user_id != user.pk:
        raise NotYourStop(f"{shipment} is not on {user}'s route on {day}.")
    return stop


def _delivered(
    *,
    shipment: Shipment,
    actor,
    now,
    note: str = "",
    stop: Stop | None = None,
    writes: WriteBatch | None = None,
) -> Shipment:
    shipment_mark_delivered(shipment=shipment, actor=actor, now=now, note=note, writes=writes)
    if stop is None:
        stop = _stop_of_day(shipment, local_today(now))
    _finish_stop(stop, outcome=Stop.Outcome.DELIVERED, shipment=shipment, now=now, writes=writes)
    if shipment.order.retailer_id is not None:
        # Only an order a retailer placed can have its endpoints to tell.
        _tell_retailer([shipment], EventType.DELIVERED, now)
    # Rule 17: the customer hears when, by whom and where, once the hand-over commits. The
    # courier's confirmation does not wait on the broker for it: it is published from the
    # background thread (a publish lost with its process is lost, as one that failed in the
    # request was before: the receipt has no outbox row).
    delay_on_commit_in_background(send_delivered_receipt, shipment.pk)
    return shipment


def _alert_operations(result: EntryResult, *, context: EntryContext, now) -> EntryResult:
    """Rule 15: a lock, a hold or a person's block opens an alert for operations, in the
    entry's transaction (one per kind and subject; never with the code in it), and the
    retailer hears of a locked code and a held parcel by webhook."""
    if result.code_locked:
        _tell_retailer([result.shipment], EventType.CODE_LOCKED, now)
        alert_open(
            kind=Alert.Kind.CODE_LOCKED,
            shipment=result.shipment,
            details=gettext_noop("The code was locked after too many wrong codes."),
            now=now,
        )
    if result.parcel_held:
        _tell_retailer([result.shipment], EventType.HELD, now)
        alert_open(
            kind=Alert.Kind.PARCEL_HELD,
            shipment=result.shipment,
            details=gettext_noop("The parcel is held after too many wrong codes in all."),
            now=now,
        )
    if result.person_blocked:
        alert_open(
            kind=Alert.Kind.PERSON_BLOCKED,
            person=context.user,
            details=gettext_noop("Blocked from entering codes after too many wrong codes."),
            now=now,
        )
    return result


def shipment_hand_over_at_door(
    *, shipment: Shipment, raw_code: str, context: EntryContext
) -> EntryResult:
    """The courier types the code the customer reads out (rules 5 to 7, 16).

    Never raises for a wrong, malformed, earlier, expired or locked code: each is an
    outcome, and its CodeEntry (and wrong-attempt counts) commit like any other. Under the
    person's and the parcel's locks one statement reads all the entry decides on, and one
    statement writes the outcome (the audit row, the counts or the hand-over and the stop).
    """
    plain = tokens.normalize(raw_code)
    if plain is None:
        return code_entry_malformed(context=context, shipment=shipment, now=timezone.now())
    with transaction.atomic():
        locks.lock_person(context.user)
        # The entry's time is read under the person's lock, so that counts in a window
        # are exact under load.
        now = timezone.now()
        shipment = locks.lock_shipment(shipment.pk)
        # One statement, begun after both locks: all the entry decides on.
        state = door_entry_state(shipment=shipment, plain=plain, user=context.user, now=now)
        writes = WriteBatch()
        result = _enter_at_door(
            shipment=shipment,
            code=state.code,
            plain=plain,
            context=context,
            now=now,
            writes=writes,
            is_blocked=state.person_is_blocked,
            stop=state.their_stop,
        )
        writes.send()
        return _alert_operations(result, context=context, now=now)


def _enter_at_door(
    *,
    shipment: Shipment,
    code,
    plain: str,
    context: EntryContext,
    now,
    writes: WriteBatch,
    is_blocked: bool,
    stop: Stop | None,
) -> EntryResult:
    """The outcome of an entry at the door, its writes added to `writes`. The order of the
    checks is the order of the rules: the person's block, the parcel's state, the stop."""
    if is_blocked:
        code_entry_record(
            context=context, shipment=shipment, outcome=Outcome.BLOCKED, now=now, writes=writes
        )
        return EntryResult(Outcome.BLOCKED, shipment=shipment)
    if shipment.is_delivered:
        code_entry_record(
            context=context,
            shipment=shipment,
            outcome=Outcome.ALREADY_DELIVERED,
            now=now,
            writes=writes,
        )
        return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment, already_done=True)
    if not shipment.requires_code:
        raise CodeEntryNotAllowed(f"{shipment} needs no code.")
    if shipment.status != Status.OUT_FOR_DELIVERY or shipment.pickup_point_id is not None:
        # Rescheduled or redirected meanwhile: this stop's code is no longer the one.
        code_entry_record(
            context=context, shipment=shipment, outcome=Outcome.EXPIRED, now=now, writes=writes
        )
        return EntryResult(Outcome.EXPIRED, shipment=shipment)
    if stop is None:
        # The portal offers a stop only on the person's own route today: gone under the
        # lock, operations gave the parcel to another courier meanwhile. Recorded (rule 10),
        # never checked, never counted.
        code_entry_record(
            context=context, shipment=shipment, outcome=Outcome.MOVED_AWAY, now=now, writes=writes
        )
        return EntryResult(Outcome.MOVED_AWAY, shipment=shipment)
    result = code_entry_check(
        shipment=shipment, code=code, plain=plain, context=context, now=now, writes=writes
    )
    if result.outcome == Outcome.CORRECT:
        _delivered(shipment=shipment, actor=context.user, now=now, stop=stop, writes=writes)
    return result


@transaction.atomic
def shipment_record_entry_not_taken(*, shipment: Shipment, context: EntryContext) -> EntryResult:
    """Rule 10: a code typed at a courier's stop that takes none now (the page was left
    open while operations gave the parcel to another courier, the stop finished, or the
    parcel went on its way to a pickup point) is recorded all the same, never checked and
    never counted. Its outcome says why: the person's block first, as at the door; then
    `moved_away` when the parcel is no longer on their route today, which is what they are
    told; `already_delivered`; else `expired` (this stop's code is no longer the one).

    The door's hot path never comes here: only these rare entries pay for the locks and
    the look-up of the stop."""
    locks.lock_person(context.user)
    now = timezone.now()
    refused = code_entry_refused_if_blocked(context=context, shipment=shipment, now=now)
    if refused is not None:
        return refused
    shipment = locks.lock_shipment(shipment.pk)
    stop = _stop_of_day(shipment, local_today(now))
    if stop is None or stop.route.courier.user_id != context.user.pk:
        outcome = Outcome.MOVED_AWAY
    elif shipment.is_delivered:
        outcome = Outcome.ALREADY_DELIVERED
    else:
        outcome = Outcome.EXPIRED
    code_entry_record(context=context, shipment=shipment, outcome=outcome, now=now)
    return EntryResult(
        outcome, shipment=shipment, already_done=outcome == Outcome.ALREADY_DELIVERED
    )


def shipment_hand_over_at_counter(
    *, pickup_point, raw_code: str, context: EntryContext
) -> EntryResult:
    """Release a parcel at a pickup point: the code alone finds it among those held there.

    Codes active at one point all differ, so the code names one parcel; an earlier code of
    a parcel held here is told apart without counting (rule 16); a code that names none
    held here (including one valid at another point) is a wrong entry, recorded without a
    parcel and counted against the person who typed it (rule 6, per person).
    """
    context = replace(context, pickup_point=pickup_point)
    plain = tokens.normalize(raw_code)
    if plain is None:
        return code_entry_malformed(context=context, shipment=None, now=timezone.now())
    with transaction.atomic():
        locks.lock_person(context.user)
        now = timezone.now()
        refused = code_entry_refused_if_blocked(context=context, shipment=None, now=now)
        if refused is not None:
            return refused
        code = code_find_at_pickup_point(pickup_point=pickup_point, plain=plain)
        if code is None:
            result = code_entry_wrong_without_parcel(context=context, now=now)
            return _alert_operations(result, context=context, now=now)
        shipment = locks.lock_shipment(code.shipment_id)
        if shipment.is_delivered and code.status != DeliveryCode.Status.USED:
            # An earlier code of a parcel already collected here (rule 16): told apart, not
            # counted, and never the "hand it over" page of the code that released it.
            code_entry_record(
                context=context, shipment=shipment, outcome=Outcome.EARLIER_CODE, now=now
            )
            return EntryResult(Outcome.EARLIER_CODE, shipment=shipment)
        if shipment.is_delivered:
            code_entry_record(
                context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now
            )
            return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment, already_done=True)
        if shipment.status != Status.AT_PICKUP_POINT or shipment.pickup_point_id != pickup_point.pk:
            # Returned or moved between the look-up and the lock: not collectable here.
            code_entry_record(context=context, shipment=shipment, outcome=Outcome.EXPIRED, now=now)
            return EntryResult(Outcome.EXPIRED, shipment=shipment)
        current = code_entry_state(
            shipment=shipment, plain=plain, user=context.user, now=now
        ).first()
        writes = WriteBatch()
        result = code_entry_check(
            shipment=shipment, code=current, plain=plain, context=context, now=now, writes=writes
        )
        if result.outcome == Outcome.CORRECT:
            _delivered(
                shipment=shipment,
                actor=context.user,
                now=now,
                note=pickup_point.name,
                writes=writes,
            )
        writes.send()
        return _alert_operations(result, context=context, now=now)


@transaction.atomic
def shipment_hand_over_without_code(*, shipment: Shipment, context: EntryContext) -> EntryResult:
    """Confirm delivery of a parcel that needs no code; recorded like a code entry."""
    now = timezone.now()
    locks.lock_person(context.user)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.is_delivered:
        code_entry_record(
            context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now
        )
        return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment, already_done=True)
    if shipment.requires_code:
        raise CodeEntryNotAllowed(f"{shipment} can only be handed over against its code.")
    if shipment.status != Status.OUT_FOR_DELIVERY or shipment.pickup_point_id is not None:
        raise ActionRefused(f"{shipment} is not out for delivery to a door.")
    stop = _check_stop_is_theirs(shipment, context.user, shipment.delivery_day)
    _delivered(shipment=shipment, actor=context.user, now=now, stop=stop)
    code_entry_record(context=context, shipment=shipment, outcome=Outcome.NO_CODE_NEEDED, now=now)
    return EntryResult(Outcome.NO_CODE_NEEDED, shipment=shipment)


@transaction.atomic
def shipment_hand_over_by_override(
    *, shipment: Shipment, context: EntryContext, reason: str
) -> EntryResult:
    """Rule 12: operations hand the parcel over without its code, for a written reason.

    Audited like any entry (outcome `override`, the reason, who, when, from where); the
    parcel's codes are revoked so none can be used afterwards, and a hold after wrong
    codes is released (its row keeps who and when); the customer's timeline says the
    parcel was handed over by operations without the code. Raises OverrideReasonMissing
    without a real reason, and IllegalTransition when the parcel is not with a courier or
    at a pickup point.
    """
    reason = reason.strip()
    if len(reason) < OVERRIDE_REASON_MIN_LENGTH:
        raise OverrideReasonMissing(f"An override of {shipment} needs a written reason.")
    now = timezone.now()
    locks.lock_person(context.user)
    shipment = locks.lock_shipment(shipment.pk)
    codes = locks.lock_codes(shipment)
    if shipment.is_delivered:
        code_entry_record(
            context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now
        )
        return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment, already_done=True)
    if shipment.status not in {Status.OUT_FOR_DELIVERY, Status.AT_PICKUP_POINT}:
        # Read under the lock: a failed attempt at this moment took the parcel off the road.
        raise IllegalTransition(shipment.status, Status.DELIVERED)
    _delivered(
        shipment=shipment,
        actor=context.user,
        now=now,
        note=gettext_noop("Handed over by operations without the code"),
    )
    codes_revoke_for_override(shipment=shipment)
    # A parcel held after too many wrong codes is operations' to resolve: this resolves it.
    parcel_hold_release(shipment=shipment, actor=context.user, now=now)
    code_entry_record(
        context=context,
        shipment=shipment,
        code=codes[0] if codes else None,
        outcome=Outcome.OVERRIDE,
        now=now,
        reason=reason,
    )
    return EntryResult(Outcome.OVERRIDE, shipment=shipment)


@transaction.atomic
def shipment_release_hold(*, shipment: Shipment, actor):
    """Operations let a parcel held after wrong codes take entries again (rule 6). None
    when it was not held (a second click)."""
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    return parcel_hold_release(shipment=shipment, actor=actor, now=timezone.now())


# --- A new delivery day ---------------------------------------------------------------------


def _give_new_day(
    shipment: Shipment,
    *,
    actor,
    now: datetime.datetime,
    new_day: datetime.date,
    note: str,
    target: str,
    courier_id: int | None,
) -> Shipment:
    """Move a locked parcel to `target` with a new delivery day, a fresh code for that day
    if it needs one (issuing it revokes the old one), and a stop at the end of its
    courier's route for that day (rule 14)."""
    shipment.delivery_day = new_day
    if target == shipment.status:
        shipment.save(update_fields=["delivery_day"])
        tracking_event_add(shipment=shipment, status=target, actor=actor, now=now, note=note)
    else:
        shipment_move(
            shipment=shipment,
            target=target,
            actor=actor,
            now=now,
            note=note,
            fields=("delivery_day",),
        )
    if shipment.requires_code:
        code_issue(shipment=shipment, delivery_day=new_day, now=now)
    _place_on_courier_routes(
        [shipment.pk], couriers={shipment.pk: courier_id}, day=new_day, today=local_today(now)
    )
    if target == Status.DELIVERY_FAILED:
        _tell_retailer([shipment], EventType.DELIVERY_FAILED, now)
    return shipment


@transaction.atomic
def shipment_record_failed_attempt(
    *, shipment: Shipment, courier: Courier, reason: str
) -> DeliveryAttempt:
    """Rule 8: the courier could not hand over; the parcel gets the next delivery day, a
    new code, and a place on the courier's route for that day. The stop keeps the reason.

    A second tap (the parcel already failed at this courier's stop today) answers with the
    attempt already recorded. A parcel bound for a pickup point is refused
    (BoundForAPickupPoint): it is dropped at its point, not attempted at a door.
    """
    now = timezone.now()
    today = local_today(now)
    locks.lock_person(courier.user)
    shipment = locks.lock_shipment(shipment.pk)
    todays = _stop_of_day(shipment, today)
    if (
        todays is not None
        and todays.outcome == Stop.Outcome.FAILED
        and todays.route.courier_id == courier.pk
    ):
        attempt = (
            DeliveryAttempt.objects.filter(shipment=shipment, courier=courier)
            .order_by("-created_at", "-pk")
            .first()
        )
        if attempt is not None:
            return attempt
    if shipment.status != Status.OUT_FOR_DELIVERY:
        raise IllegalTransition(shipment.status, Status.DELIVERY_FAILED)
    if shipment.pickup_point_id is not None:
        # Redirected while out (a stop page left open at the door): it is dropped at its
        # point, and a parcel on its way there never fails at a door (rule 15).
        raise BoundForAPickupPoint(shipment)
    stop = _check_stop_is_theirs(shipment, courier.user, shipment.delivery_day)
    label = str(DeliveryAttempt.Reason(reason).label)
    attempt = DeliveryAttempt.objects.create(
        shipment=shipment, courier=courier, reason=reason, created_at=now
    )
    _finish_stop(stop, outcome=Stop.Outcome.FAILED, shipment=shipment, now=now, note=reason)
    new_day = next_working_day(max(today, shipment.delivery_day))
    _give_new_day(
        shipment,
        actor=courier.user,
        now=now,
        new_day=new_day,
        note=label,
        target=Status.DELIVERY_FAILED,
        courier_id=courier.pk,
    )
    return attempt


@transaction.atomic
def shipment_change_delivery_day(
    *, shipment: Shipment, delivery_day: datetime.date, actor
) -> Shipment:
    """Operations (or the customer) give the parcel another delivery day: exactly as a
    failed attempt does, the code is reissued for it and the parcel goes to its courier's
    route for that day (rule 13). The same day again: answered as done."""
    now = timezone.now()
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.delivery_day == delivery_day:
        return shipment
    if delivery_day < local_today(now):
        raise NotItsDeliveryDay(f"{delivery_day} is over.")
    if shipment.status == Status.PROCESSING:
        shipment.delivery_day = delivery_day
        shipment.save(update_fields=["delivery_day"])
        return shipment
    if shipment.status not in {Status.SHIPPED, Status.DELIVERY_FAILED}:
        raise ActionRefused(f"{shipment} is {shipment.status}: its day cannot change.")
    stop = _stop_of_day(shipment, delivery_day)
    if stop is not None and stop.is_finished:
        # That day is over for the parcel (a failed attempt today): rule 14 keeps its stop.
        raise StopFinished(stop)
    return _give_new_day(
        shipment,
        actor=actor,
        now=now,
        new_day=delivery_day,
        # Stored untranslated: the tracking page translates notes for whoever reads them.
        note=gettext_noop("New delivery day"),
        target=shipment.status,
        courier_id=_its_courier_id(shipment),
    )


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
    shipment = (
        missed_deliveries(today=today).select_for_update(no_key=True).filter(pk=shipment_id).first()
    )
    if shipment is None:
        return False
    new_day = first_working_day_from(max(today, shipment.delivery_day + datetime.timedelta(days=1)))
    stop = _stop_of_day(shipment, shipment.delivery_day)
    _finish_stop(stop, outcome=Stop.Outcome.MISSED, shipment=shipment, now=now)
    _give_new_day(
        shipment,
        actor=None,
        now=now,
        new_day=new_day,
        # Stored untranslated: the tracking page translates notes for whoever reads them.
        note=gettext_noop("Missed delivery: not handed over on its delivery day."),
        target=Status.DELIVERY_FAILED,
        courier_id=stop.route.courier_id if stop is not None else None,
    )
    return True


# --- Pickup points --------------------------------------------------------------------------


@transaction.atomic
def shipment_redirect_to_pickup_point(*, shipment: Shipment, pickup_point, actor) -> Shipment:
    """Send the parcel to a pickup point instead of the customer's door (rule 8).

    Allowed while the parcel can still reach a point (shipped, out for delivery, or after
    a failed attempt). The code follows when the parcel arrives there. Already bound for
    this point: answered as done.
    """
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.pickup_point_id == pickup_point.pk and shipment.status != Status.PROCESSING:
        return shipment
    # On its way (shipped, out for delivery), the parcel can still arrive at a point; after
    # a failed attempt it goes on its way again first.
    if shipment.status == Status.DELIVERY_FAILED:
        shipment_check_move(source=shipment.status, target=Status.SHIPPED)
    else:
        shipment_check_move(source=shipment.status, target=Status.AT_PICKUP_POINT)
    if not pickup_point.is_active:
        raise PickupPointUnavailable(f"{pickup_point} takes no parcels.")
    shipment.pickup_point = pickup_point
    # Stored in English and translated when shown; the point is on the tracking page.
    note = gettext_noop("Redirected to a pickup point")
    now = timezone.now()
    if shipment.status == Status.DELIVERY_FAILED:
        # Rule 15: after a failed attempt the parcel is on its way to the point again, for
        # the customer, the retailer and operations alike, not failed a second time; the
        # retailer, last told it failed, hears it is on its way.
        shipment_move(
            shipment=shipment,
            target=Status.SHIPPED,
            actor=actor,
            now=now,
            note=note,
            fields=("pickup_point",),
        )
        _tell_retailer([shipment], EventType.SHIPPED, now)
    else:
        shipment.save(update_fields=["pickup_point"])
        tracking_event_add(
            shipment=shipment, status=shipment.status, actor=actor, now=now, note=note
        )
    return shipment


def _arrive_at_pickup_point(*, shipment: Shipment, pickup_point, actor, now) -> Shipment:
    """The parcel (locked) is held at its point to the end of the last collection day, and
    the customer is emailed the code to collect it with."""
    today = local_today(now)
    stop = _stop_of_day(shipment, today)
    shipment.delivery_day = last_collection_day(today)
    shipment_move(
        shipment=shipment,
        target=Status.AT_PICKUP_POINT,
        actor=actor,
        now=now,
        note=pickup_point.name,
        fields=("delivery_day",),
    )
    _finish_stop(stop, outcome=Stop.Outcome.DROPPED, shipment=shipment, now=now)
    # Received at the point: no courier takes it out on a later day.
    _drop_pending_stops([shipment.pk], today=today)
    code_hold_at_pickup_point(
        shipment=shipment, pickup_point=pickup_point, collect_by=shipment.delivery_day, now=now
    )
    _tell_retailer([shipment], EventType.AT_PICKUP_POINT, now)
    return shipment


@transaction.atomic
def shipment_drop_at_pickup_point(*, shipment: Shipment, courier: Courier) -> Shipment:
    """The courier left the parcel at its pickup point. A second tap: answered as done."""
    now = timezone.now()
    locks.lock_person(courier.user)
    shipment = locks.lock_shipment(shipment.pk)
    point = shipment.pickup_point
    if point is None:
        raise PickupPointUnavailable(f"{shipment} is not bound for a pickup point.")
    if shipment.status == Status.AT_PICKUP_POINT:
        return shipment
    _check_stop_is_theirs(shipment, courier.user, local_today(now))
    return _arrive_at_pickup_point(
        shipment=shipment, pickup_point=point, actor=courier.user, now=now
    )


@transaction.atomic
def shipment_receive_at_pickup_point(*, shipment: Shipment, pickup_point, actor) -> Shipment:
    """The operator confirmed the parcel reached their point. A second confirmation (or a
    courier's drop at the same moment): answered as done."""
    now = timezone.now()
    locks.lock_person(actor)
    shipment = locks.lock_shipment(shipment.pk)
    if shipment.pickup_point_id != pickup_point.pk:
        raise PickupPointUnavailable(f"{shipment} is not addressed to {pickup_point}.")
    if shipment.status == Status.AT_PICKUP_POINT:
        return shipment
    return _arrive_at_pickup_point(
        shipment=shipment, pickup_point=pickup_point, actor=actor, now=now
    )


# --- The day's end --------------------------------------------------------------------------


@transaction.atomic
def shipments_return_uncollected(*, now: datetime.datetime | None = None) -> list[int]:
    """Send back every parcel whose last collection day at a pickup point has ended.

    Set-based and idempotent: one pass over the parcels still at a point past their day,
    bulk writes, and a second run finds nothing left. Returns the ids sent back; each
    customer is emailed once the transaction commits.
    """
    now = now or timezone.now()
    shipment_check_move(source=Status.AT_PICKUP_POINT, target=Status.RETURNED)
    # skip_locked: a parcel being released at this very moment is left to its release.
    overdue = list(
        Shipment.objects.select_for_update(skip_locked=True, no_key=True)
        .filter(status=Status.AT_PICKUP_POINT, delivery_day__lt=local_today(now))
        .values_list("pk", flat=True)
    )
    if not overdue:
        return []
    Shipment.objects.filter(pk__in=overdue).update(status=Status.RETURNED)
    codes_expire_of(shipment_ids=overdue)
    note = gettext_noop("Not collected in time: returned to the sender")
    TrackingEvent.objects.bulk_create(
        (
            TrackingEvent(shipment_id=pk, status=Status.RETURNED, note=note, created_at=now)
            for pk in overdue
        ),
        batch_size=BATCH_SIZE,
    )
    for pk in overdue:
        send_parcel_returned_email.delay_on_commit(pk)
    _tell_retailer([Shipment(pk=pk) for pk in overdue], EventType.RETURNED, now)
    return overdue


@transaction.atomic
def shipments_record_missed_drops(*, now: datetime.datetime | None = None) -> list[int]:
    """Parcels bound for a pickup point still on the road after their delivery day: the
    courier did not drop them off. Nobody tried the customer's door, so nothing failed for
    them: each is back at the depot on its way to the point (`shipped`, for the customer,
    the retailer and operations alike, rule 15) with the first working day not yet over,
    and on its courier's route for that day; the stop of the day that ended is kept as
    missed (rule 14).

    No code is issued here: the customer gets the code to collect with when the parcel
    reaches the point. Set-based and idempotent: a second run finds nothing left. Returns
    the ids moved.
    """
    now = now or timezone.now()
    shipment_check_move(source=Status.OUT_FOR_DELIVERY, target=Status.SHIPPED)
    today = local_today(now)
    missed = list(
        missed_drops(today=today)
        .select_for_update(skip_locked=True, no_key=True)
        .values_list("pk", flat=True)
    )
    if not missed:
        return []
    new_day = first_working_day_from(today)
    Shipment.objects.filter(pk__in=missed).update(status=Status.SHIPPED, delivery_day=new_day)
    missed_stops = Stop.objects.filter(
        shipment_id__in=missed, day__lt=today, outcome=Stop.Outcome.PENDING
    )
    couriers = dict(missed_stops.values_list("shipment_id", "route__courier_id"))
    missed_stops.update(outcome=Stop.Outcome.MISSED, finished_at=now)
    # Rule 14: each goes out again with its courier, on the route of its new day.
    _place_on_courier_routes(missed, couriers=couriers, day=new_day, today=today)
    note = gettext_noop("Not dropped at the pickup point on its day: it goes out again.")
    TrackingEvent.objects.bulk_create(
        (
            TrackingEvent(shipment_id=pk, status=Status.SHIPPED, note=note, created_at=now)
            for pk in missed
        ),
        batch_size=BATCH_SIZE,
    )
    _tell_retailer([Shipment(pk=pk) for pk in missed], EventType.SHIPPED, now)
    return missed


@transaction.atomic
def shipments_reschedule_not_sent_out(*, now: datetime.datetime | None = None) -> list[int]:
    """Rule 8: parcels whose delivery day ended before they went out at all (at the depot,
    shipped or after a failed attempt) get the first working day not yet over, a fresh
    code for it where one is needed, and a place on their courier's route that day; the
    stop they had on the day that ended is kept as missed (rule 14).

    Set-based and idempotent like the other steps: a second run finds nothing left.
    Returns the ids given a new day."""
    now = now or timezone.now()
    today = local_today(now)
    ids = list(
        not_sent_out(today=today)
        .select_for_update(skip_locked=True, no_key=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return []
    new_day = first_working_day_from(today)
    old_stops = Stop.objects.filter(
        shipment_id__in=ids, day__lt=today, outcome=Stop.Outcome.PENDING
    )
    couriers = dict(old_stops.values_list("shipment_id", "route__courier_id"))
    old_stops.update(outcome=Stop.Outcome.MISSED, finished_at=now)
    Shipment.objects.filter(pk__in=ids).update(delivery_day=new_day)
    shipments = list(
        Shipment.objects.filter(pk__in=ids).only("pk", "status", "requires_code", "delivery_day")
    )
    note = gettext_noop("Not sent out on its delivery day: a new delivery day.")
    TrackingEvent.objects.bulk_create(
        (TrackingEvent(shipment=s, status=s.status, note=note, created_at=now) for s in shipments),
        batch_size=BATCH_SIZE,
    )
    codes_issue(shipments=[s for s in shipments if s.requires_code], now=now)
    _place_on_courier_routes(ids, couriers=couriers, day=new_day, today=today)
    return ids


@dataclass(frozen=True)
class DayEndResult:
    expired: int
    rescheduled: int
    missed_drops: int
    returned: int


def shipments_day_end(*, now: datetime.datetime | None = None) -> DayEndResult:
    """Rules 4 and 8 and the pickup points' holding period, run by beat just after local
    midnight and by `manage.py day_end`: its steps in order, each its own transaction,
    each filtering on current state, so a second run changes nothing and a late run
    catches up on every day missed.

    1. expire every active code whose validity has ended (one UPDATE);
    2. record each home delivery still out after its day as missed: a new day, a new code,
       a place on its courier's route;
    3. parcels for a pickup point not dropped on their day go back to the depot, on their
       way to the point again (shipped), each on its courier's route for its new day;
    4. parcels that never went out on their day get a new day, a new code and a place on
       their courier's route (counted with the rescheduled);
    5. parcels not collected by their last collection day go back to the sender.
    """
    now = now or timezone.now()
    with transaction.atomic():
        expired = codes_expire_ended(now=now)
    missed_ids = list(
        missed_deliveries(today=local_today(now)).order_by("pk").values_list("pk", flat=True)
    )
    rescheduled = 0
    for shipment_id in missed_ids:
        try:
            if shipment_record_missed_delivery(shipment_id=shipment_id, now=now):
                rescheduled += 1
        except Exception:
            # One parcel's fault must not keep the others waiting; the next run retries it.
            logger.exception("Day-end: could not reschedule parcel id %s", shipment_id)
    drops = shipments_record_missed_drops(now=now)
    rescheduled += len(shipments_reschedule_not_sent_out(now=now))
    returned = shipments_return_uncollected(now=now)
    logger.info(
        "Day-end: %d codes expired, %d parcels rescheduled, %d missed drops, %d returned",
        expired,
        rescheduled,
        len(drops),
        len(returned),
    )
    return DayEndResult(
        expired=expired, rescheduled=rescheduled, missed_drops=len(drops), returned=len(returned)
    )
