"""Issuing and checking delivery codes. Every entry leaves a CodeEntry row."""

import datetime
import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_noop

from orders.days import end_of_day
from orders.models import Shipment
from orders.services import shipment_mark_delivered

from . import tokens
from .exceptions import CodeEntryNotAllowed, CodeGenerationFailed, OverrideReasonMissing
from .lifecycle import parcel_hold_release, wrong_entry_alerts
from .models import CodeEmail, CodeEntry, DeliveryCode, EntryBlock, ParcelHold
from .notifications import code_email_request, code_emails_request_issued
from .selectors import person_is_blocked

logger = logging.getLogger(__name__)

Outcome = CodeEntry.Outcome

# Attempts to draw a code that collides with none active at the same pickup point.
_MAX_DRAWS = 20


@dataclass(frozen=True)
class EntryResult:
    """What happened to one code entry, for the view to tell the person at the door."""

    outcome: str
    tries_left: int | None = None
    # This entry was the person's last allowed wrong one: they are now blocked (rule 6).
    person_blocked: bool = False
    # The parcel the entry was about, when one was identified (at a pickup point the code
    # alone finds it, and the operator must be told which parcel to hand over).
    shipment: Shipment | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome in {Outcome.CORRECT, Outcome.NO_CODE_NEEDED, Outcome.OVERRIDE}


@dataclass(frozen=True)
class EntryContext:
    """Who entered a code, and from where; recorded with every entry."""

    user: object
    client_ip: str | None = None
    pickup_point: object | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def _record(
    *, context: EntryContext, shipment, outcome: str, now, code=None, reason: str = ""
) -> None:
    CodeEntry.objects.create(
        shipment=shipment,
        code=code,
        user=context.user,
        outcome=outcome,
        pickup_point=context.pickup_point,
        client_ip=context.client_ip,
        latitude=context.latitude,
        longitude=context.longitude,
        reason=reason,
        created_at=now,
    )


def _draw_code(
    *, shipment: Shipment, delivery_day: datetime.date, pickup_point, now
) -> DeliveryCode:
    """A fresh code for the parcel and day, not saved: only its hash and ciphertext are
    kept, the plain digits go out of scope here."""
    plain = tokens.generate_code()
    return DeliveryCode(
        shipment=shipment,
        code_hash=tokens.code_hash(plain),
        code_encrypted=tokens.encrypt(plain),
        delivery_day=delivery_day,
        valid_until=end_of_day(delivery_day),
        pickup_point=pickup_point,
        issued_at=now,
    )


def _create_code(
    *, shipment: Shipment, delivery_day: datetime.date, pickup_point, now
) -> DeliveryCode:
    """Draw and store a fresh code. Among codes active at one pickup point no two are
    equal, so a draw that collides there (the database constraint says so) is thrown away
    and drawn again; the savepoint keeps the caller's transaction usable on PostgreSQL."""
    for _draw in range(_MAX_DRAWS):
        code = _draw_code(
            shipment=shipment, delivery_day=delivery_day, pickup_point=pickup_point, now=now
        )
        try:
            with transaction.atomic():
                code.save(force_insert=True)
        except IntegrityError:
            continue
        return code
    raise CodeGenerationFailed(f"No free code found for {shipment} after {_MAX_DRAWS} draws.")


def _revoke_active(shipment: Shipment) -> None:
    DeliveryCode.objects.filter(shipment=shipment, status=DeliveryCode.Status.ACTIVE).update(
        status=DeliveryCode.Status.REVOKED
    )


@transaction.atomic
def code_issue(
    *, shipment: Shipment, delivery_day: datetime.date, pickup_point=None
) -> DeliveryCode:
    """Revoke the parcel's current code, if any, and issue a fresh one, emailed on commit."""
    now = timezone.now()
    _revoke_active(shipment)
    code = _create_code(
        shipment=shipment, delivery_day=delivery_day, pickup_point=pickup_point, now=now
    )
    code_email_request(code=code, purpose=CodeEmail.Purpose.ISSUED, now=now)
    return code


def codes_issue_for_shipping(*, shipments: list[Shipment], now) -> list[DeliveryCode]:
    """Issue a fresh code for each parcel shipping now, for its delivery day, set-based.

    Called by shipments_mark_shipped inside its transaction with the rows locked. Codes
    issued when a parcel ships are bound to no pickup point (the parcel's code is bound on
    arrival there, by code_hold_at_pickup_point, which draws again on a collision), so no
    uniqueness rule but one active code per parcel applies: any active code is revoked
    first, then all are inserted at once, and their issue emails are asked for in bulk.
    """
    if not shipments:
        return []
    DeliveryCode.objects.filter(
        shipment_id__in=[s.pk for s in shipments], status=DeliveryCode.Status.ACTIVE
    ).update(status=DeliveryCode.Status.REVOKED)
    codes = DeliveryCode.objects.bulk_create(
        (
            _draw_code(
                shipment=shipment, delivery_day=shipment.delivery_day, pickup_point=None, now=now
            )
            for shipment in shipments
        ),
        batch_size=_BATCH,
    )
    code_emails_request_issued(codes=codes, now=now)
    return codes


# Rows per INSERT in the bulk writes.
_BATCH = 2000


def _current_code(shipment: Shipment, *, plain: str | None = None) -> DeliveryCode | None:
    """The parcel's newest code. Given the code entered, it also carries, read in the
    same statement, `parcel_is_held` (operations hold the parcel after wrong codes, rule 6)
    and `matches_an_earlier_code` (the entry equals one of the parcel's older codes, as
    after a reschedule, found by its keyed hash).

    Called with the parcel's row lock held, in a statement begun after the lock was taken,
    so it sees every hold committed by the entries it waited for."""
    codes = shipment.codes.order_by("-issued_at", "-pk")
    if plain is not None:
        codes = codes.annotate(
            parcel_is_held=Exists(
                ParcelHold.objects.filter(shipment=OuterRef("shipment"), released_at__isnull=True)
            ),
            matches_an_earlier_code=Exists(
                DeliveryCode.objects.filter(
                    shipment=OuterRef("shipment"), code_hash=tokens.code_hash(plain)
                ).exclude(pk=OuterRef("pk"))
            ),
        )
    return codes.first()


def code_verify(*, shipment: Shipment, raw_code: str, context: EntryContext) -> EntryResult:
    """Check a code entered at the door and, if right, hand the parcel over.

    Never raises for a wrong, malformed, expired or locked code: each is an outcome, and
    its CodeEntry (and wrong-attempt counts) must commit like any other.
    """
    plain = tokens.normalize(raw_code)
    if plain is None:
        return _record_malformed(context=context, shipment=shipment, now=timezone.now())

    with transaction.atomic():
        now = _lock_person(context.user)
        refused = _refuse_if_blocked(context=context, shipment=shipment, now=now)
        if refused is not None:
            return refused
        return _check_and_hand_over(shipment=shipment, plain=plain, context=context, now=now)


def code_verify_at_pickup_point(
    *, pickup_point, raw_code: str, context: EntryContext
) -> EntryResult:
    """Release a parcel at a pickup point: the code alone finds it among those held there.

    Codes active at one point all differ, so the code names one parcel; a code that names
    none held here (including one valid at another point) is a wrong entry, recorded
    without a parcel and counted against the person who typed it (rule 6, per person).
    """
    context = replace(context, pickup_point=pickup_point)
    plain = tokens.normalize(raw_code)
    if plain is None:
        return _record_malformed(context=context, shipment=None, now=timezone.now())

    with transaction.atomic():
        now = _lock_person(context.user)
        refused = _refuse_if_blocked(context=context, shipment=None, now=now)
        if refused is not None:
            return refused
        code = _code_held_at(pickup_point=pickup_point, plain=plain)
        if code is None:
            _record(context=context, shipment=None, outcome=Outcome.WRONG, now=now)
            return EntryResult(
                Outcome.WRONG, person_blocked=_block_if_over_limit(context.user, now=now)
            )
        return _check_and_hand_over(shipment=code.shipment, plain=plain, context=context, now=now)


def _record_malformed(*, context: EntryContext, shipment, now) -> EntryResult:
    # Malformed input is a typing slip, not a guess: recorded but never counted.
    outcome = Outcome.BLOCKED if person_is_blocked(user=context.user) else Outcome.MALFORMED
    _record(context=context, shipment=shipment, outcome=outcome, now=now)
    return EntryResult(outcome)


def _refuse_if_blocked(*, context: EntryContext, shipment, now) -> EntryResult | None:
    """Called inside the entry's transaction, with the person's lock held (_lock_person),
    before any parcel is looked at."""
    # The block is read by a statement of its own once the lock is held: a statement that
    # waited for the lock still reads with its older snapshot (PostgreSQL, read committed),
    # and would miss a block committed by the entry it waited for.
    if not person_is_blocked(user=context.user):
        return None
    # Refused before the parcel is even looked at: its counters stay untouched.
    _record(context=context, shipment=shipment, outcome=Outcome.BLOCKED, now=now)
    return EntryResult(Outcome.BLOCKED)


def _code_held_at(*, pickup_point, plain: str) -> DeliveryCode | None:
    """The code equal to `plain` of a parcel held (or just released) at the point.

    The active one first: it is unique at the point, and the partial unique index finds
    it. Failing that, a locked, expired or used code that is still its parcel's current
    one, so that the operator hears that the parcel is locked, past its collection period
    or already handed over (a double tap on Release parcel is not a wrong code).
    """
    held_here = DeliveryCode.objects.filter(
        pickup_point=pickup_point,
        code_hash=tokens.code_hash(plain),
        shipment__pickup_point=pickup_point,
        shipment__status__in=[Shipment.Status.AT_PICKUP_POINT, Shipment.Status.DELIVERED],
    ).select_related("shipment")
    code = held_here.filter(status=DeliveryCode.Status.ACTIVE).first()
    if code is not None:
        return code
    code = (
        held_here.exclude(status__in=[DeliveryCode.Status.ACTIVE, DeliveryCode.Status.REVOKED])
        .order_by("-issued_at", "-pk")
        .first()
    )
    if code is None:
        return None
    current = _current_code(code.shipment)
    return code if current is not None and current.pk == code.pk else None


# Both callers run this inside the entry's transaction (after the person's lock): no
# savepoint of its own is needed, only the guarantee that it runs in a transaction.
@transaction.atomic(savepoint=False)
def _check_and_hand_over(
    *, shipment: Shipment, plain: str, context: EntryContext, now
) -> EntryResult:
    """The check shared by the courier at the door and the operator at the counter."""
    # The row lock serialises entries for one parcel: exactly-once delivery and exact
    # wrong-attempt counts under concurrent submissions.
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    point = context.pickup_point
    if shipment.is_delivered:
        _record(context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now)
        return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment)
    # At a pickup point every parcel is released against its code (the code is how the
    # operator finds it); at the door only parcels that need one take a code.
    if point is None and not shipment.requires_code:
        raise CodeEntryNotAllowed(f"{shipment} needs no code.")

    code = _current_code(shipment, plain=plain)
    if point is not None and (
        shipment.status != Shipment.Status.AT_PICKUP_POINT or shipment.pickup_point_id != point.pk
    ):
        # Returned or moved between the look-up and the lock: no longer collectable here.
        outcome = Outcome.EXPIRED
    elif code is not None and code.parcel_is_held:
        # Rule 6: too many wrong codes in all; only operations can let it go.
        outcome = Outcome.HELD
    elif code is None or code.status in {
        DeliveryCode.Status.EXPIRED,
        DeliveryCode.Status.REVOKED,
        DeliveryCode.Status.USED,
    }:
        outcome = Outcome.EXPIRED
    elif code.status == DeliveryCode.Status.LOCKED:
        outcome = Outcome.LOCKED
    elif now >= code.valid_until:
        # Checked here, not left to the day-end sweep, so it holds with no worker.
        outcome = Outcome.EXPIRED
    elif tokens.code_matches(plain, code.code_hash):
        code.status = DeliveryCode.Status.USED
        code.used_at = now
        code.save(update_fields=["status", "used_at"])
        shipment_mark_delivered(
            shipment=shipment, actor=context.user, now=now, note=point.name if point else ""
        )
        _record(context=context, shipment=shipment, code=code, outcome=Outcome.CORRECT, now=now)
        return EntryResult(Outcome.CORRECT, shipment=shipment)
    elif code.matches_an_earlier_code:
        # An old code of this parcel (it was rescheduled): refused, but not a guess.
        outcome = Outcome.EXPIRED
    else:
        return _count_wrong(shipment=shipment, code=code, context=context, now=now)

    _record(context=context, shipment=shipment, code=code, outcome=outcome, now=now)
    return EntryResult(outcome, shipment=shipment)


def _count_wrong(*, shipment, code: DeliveryCode, context: EntryContext, now) -> EntryResult:
    """Count a wrong code against the code and the parcel. Every change to these counters
    is made under the parcel's row lock, which the caller holds, so the values read with
    the lock plus one are the new ones: no read back after the F() updates."""
    limit = settings.CODE_MAX_WRONG_ATTEMPTS
    code.wrong_attempts += 1
    changes = {"wrong_attempts": F("wrong_attempts") + 1}
    if code.wrong_attempts >= limit:
        code.status = changes["status"] = DeliveryCode.Status.LOCKED
        logger.warning("Delivery code of %s locked after %d wrong entries", shipment, limit)
    DeliveryCode.objects.filter(pk=code.pk).update(**changes)
    Shipment.objects.filter(pk=shipment.pk).update(wrong_code_entries=F("wrong_code_entries") + 1)
    shipment.wrong_code_entries += 1
    is_held = wrong_entry_alerts(shipment=shipment, code=code, now=now)
    _record(context=context, shipment=shipment, code=code, outcome=Outcome.WRONG, now=now)
    person_blocked = _block_if_over_limit(context.user, now=now)
    return EntryResult(
        Outcome.WRONG,
        tries_left=0 if is_held else max(limit - code.wrong_attempts, 0),
        person_blocked=person_blocked,
        shipment=shipment,
    )


# --- Rule 6, per person: too many wrong codes across parcels blocks code entry -------------


def _lock_person(user) -> datetime.datetime:
    """Lock the person's row and return the time of their entry, read under the lock.

    Locking the person first serialises their entries across all parcels, so the
    per-person count of wrong codes is exact however many requests race (rule 6). The
    time is read only once the lock is held: entries then get their times in the order
    they commit, and the window counted by time holds every earlier entry. A time read
    before waiting for the lock would be older than entries committed meanwhile.
    """
    # The user row is the one row every entry by this person shares, whatever the parcel.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
    return timezone.now()


def _block_if_over_limit(user, *, now) -> bool:
    """Block the person once their wrong codes within the window reach the limit.

    Wrong codes entered before operations last lifted a block do not count again, so a
    lifted block gives a fresh start. The caller holds the person's row lock.
    """
    since = now - datetime.timedelta(minutes=settings.COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES)
    last_lifted = (
        EntryBlock.objects.filter(user=user, lifted_at__isnull=False)
        .order_by("-lifted_at")
        .values("lifted_at")[:1]
    )
    # One statement: the wrong codes in the window and after the last lift, if any.
    wrong = (
        # No upper bound: an entry from a web server whose clock runs ahead is counted too.
        CodeEntry.objects.filter(user=user, outcome=Outcome.WRONG, created_at__gte=since)
        .filter(Q(created_at__gt=Subquery(last_lifted)) | ~Exists(last_lifted))
        .count()
    )
    if wrong < settings.COURIER_MAX_WRONG_ATTEMPTS:
        return False
    EntryBlock.objects.create(user=user, wrong_entries=wrong, blocked_at=now)
    logger.warning("Code entry blocked for user %s after %d wrong codes", user.pk, wrong)
    return True


@transaction.atomic
def entry_block_lift(*, block: EntryBlock, actor) -> EntryBlock:
    """Operations let the person enter codes again; who and when stay on the record."""
    block = EntryBlock.objects.select_for_update().get(pk=block.pk)
    if block.lifted_at is None:
        block.lifted_at = timezone.now()
        block.lifted_by = actor
        block.save(update_fields=["lifted_at", "lifted_by"])
    return block


@transaction.atomic
def shipment_hand_over_without_code(*, shipment: Shipment, context: EntryContext) -> EntryResult:
    """Confirm delivery of a parcel that needs no code; recorded like a code entry."""
    now = timezone.now()
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.is_delivered:
        _record(context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now)
        return EntryResult(Outcome.ALREADY_DELIVERED, shipment=shipment)
    if shipment.requires_code:
        raise CodeEntryNotAllowed(f"{shipment} can only be handed over against its code.")
    shipment_mark_delivered(shipment=shipment, actor=context.user, now=now)
    _record(context=context, shipment=shipment, outcome=Outcome.NO_CODE_NEEDED, now=now)
    return EntryResult(Outcome.NO_CODE_NEEDED, shipment=shipment)


def _bind_to_pickup_point(
    code: DeliveryCode, *, pickup_point, collect_by: datetime.date, valid_until
) -> bool:
    """Make the code the one to collect the parcel with at the point; False if another
    parcel held there already has the same code (the constraint refuses it)."""
    code.pickup_point = pickup_point
    code.delivery_day = collect_by
    code.valid_until = valid_until
    try:
        with transaction.atomic():
            code.save(update_fields=["pickup_point", "delivery_day", "valid_until"])
    except IntegrityError:
        return False
    return True


@transaction.atomic
def code_hold_at_pickup_point(
    *, shipment: Shipment, pickup_point, collect_by: datetime.date
) -> DeliveryCode:
    """The code the customer collects the parcel with, valid to the end of `collect_by`.

    The customer keeps the code they already have when it is still valid and no other
    parcel at the point has the same one, so the code in their first email keeps working;
    otherwise (expired, locked, revoked or colliding) they get a fresh code unique at the
    point. Either way they are emailed the code with the point's address and the last
    collection day once the transaction commits.
    """
    now = timezone.now()
    valid_until = end_of_day(collect_by)
    code = (
        DeliveryCode.objects.select_for_update()
        .filter(shipment=shipment, status=DeliveryCode.Status.ACTIVE)
        .first()
    )
    kept = (
        code is not None
        and now < code.valid_until
        and _bind_to_pickup_point(
            code, pickup_point=pickup_point, collect_by=collect_by, valid_until=valid_until
        )
    )
    if not kept:
        _revoke_active(shipment)
        code = _create_code(
            shipment=shipment, delivery_day=collect_by, pickup_point=pickup_point, now=now
        )
    code_email_request(code=code, purpose=CodeEmail.Purpose.AT_PICKUP_POINT, now=now)
    return code


@transaction.atomic
def code_reencrypt_active(*, rehash: bool = False) -> tuple[int, int]:
    """Re-encrypt every code that may still be shown or checked under the newest key.

    Returns (re-encrypted, unreadable). Rows are locked so that an entry racing this
    never sees a half-rotated code.
    """
    done = unreadable = 0
    codes = DeliveryCode.objects.select_for_update().filter(
        status__in=[DeliveryCode.Status.ACTIVE, DeliveryCode.Status.LOCKED]
    )
    for code in codes:
        plain = tokens.decrypt(code.code_encrypted)
        if plain is None:
            unreadable += 1
            continue
        code.code_encrypted = tokens.encrypt(plain)
        fields = ["code_encrypted"]
        if rehash:
            code.code_hash = tokens.code_hash(plain)
            fields.append("code_hash")
        code.save(update_fields=fields)
        done += 1
    return done, unreadable


# The shortest reason operations may give for an override: a sentence, not "ok".
OVERRIDE_REASON_MIN_LENGTH = 10


@transaction.atomic
def shipment_hand_over_by_override(
    *, shipment: Shipment, context: EntryContext, reason: str
) -> EntryResult:
    """Rule 12: operations hand the parcel over without its code, for a written reason.

    Audited like any entry (outcome `override`, the reason, who, when, from where); the
    parcel's code is revoked so it can never be used afterwards, and a hold after wrong
    codes is released (its row keeps who and when); the customer's timeline
    says the parcel was handed over by operations without the code. Raises
    OverrideReasonMissing without a real reason, and IllegalTransition when the parcel
    is not with a courier or at a pickup point.
    """
    reason = reason.strip()
    if len(reason) < OVERRIDE_REASON_MIN_LENGTH:
        raise OverrideReasonMissing(f"An override of {shipment} needs a written reason.")
    now = timezone.now()
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if shipment.is_delivered:
        _record(context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now)
        return EntryResult(Outcome.ALREADY_DELIVERED)
    code = _current_code(shipment)
    shipment_mark_delivered(
        shipment=shipment,
        actor=context.user,
        now=now,
        note=gettext_noop("Handed over by operations without the code"),
    )
    shipment.codes.filter(
        status__in=[DeliveryCode.Status.ACTIVE, DeliveryCode.Status.LOCKED]
    ).update(status=DeliveryCode.Status.REVOKED)
    # A parcel held after too many wrong codes is operations' to resolve: this resolves it.
    parcel_hold_release(shipment=shipment, actor=context.user, now=now)
    _record(
        context=context,
        shipment=shipment,
        code=code,
        outcome=Outcome.OVERRIDE,
        now=now,
        reason=reason,
    )
    return EntryResult(Outcome.OVERRIDE)
