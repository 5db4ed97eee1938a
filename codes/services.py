"""Issuing, checking and expiring delivery codes. Every entry leaves a CodeEntry row.

These functions never change the parcel's status, day or route, and never take row locks
on people or parcels: the hand-over layer (`handoff.services`) takes the locks in its one
order and calls these, then acts on the outcome they return (a right code hands the
parcel over there, a lock or hold opens an alert there).
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.days import end_of_day
from orders.models import Shipment
from otpdelivery.writes import WriteBatch

from . import tokens
from .exceptions import CodeGenerationFailed, IllegalCodeTransition
from .lifecycle import wrong_entry_alerts
from .models import CodeEmail, CodeEntry, DeliveryCode, EntryBlock
from .notifications import code_email_request, code_emails_request_issued
from .selectors import current_code_of, entry_blocks_in_force, open_holds_of, person_is_blocked

logger = logging.getLogger(__name__)

Outcome = CodeEntry.Outcome
CodeStatus = DeliveryCode.Status

# Attempts to draw a code that collides with none active at the same pickup point.
_MAX_DRAWS = 20

# Rows per INSERT in the bulk writes.
_BATCH = 2000


@dataclass(frozen=True)
class EntryResult:
    """What happened to one code entry, for the view to tell the person at the door."""

    outcome: str
    tries_left: int | None = None
    # This entry was the person's last allowed wrong one: they are now blocked (rule 6).
    person_blocked: bool = False
    # This entry locked the code, or held the parcel (rule 6): operations are alerted.
    code_locked: bool = False
    parcel_held: bool = False
    # The parcel the entry was about, when one was identified (at a pickup point the code
    # alone finds it, and the operator must be told which parcel to hand over).
    shipment: Shipment | None = None
    # An action that found the parcel already where it would put it (a double tap).
    already_done: bool = False

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


# --- Status moves: one table, one helper ------------------------------------------------


def code_check_move(*, source: str, target: str) -> None:
    """The one check of DeliveryCode.TRANSITIONS, for single and set-based moves alike."""
    if target not in DeliveryCode.TRANSITIONS[CodeStatus(source)]:
        raise IllegalCodeTransition(source, target)


def code_move(*, code: DeliveryCode, target: str, fields: tuple[str, ...] = ()) -> DeliveryCode:
    """Move one code (its row locked by the caller, or its parcel's) to `target`."""
    code_check_move(source=code.status, target=target)
    code.status = target
    code.save(update_fields=["status", *fields])
    return code


def codes_move(*, codes: QuerySet, source: str, target: str) -> int:
    """Move every code of `codes` that is in `source` to `target`, in one UPDATE."""
    code_check_move(source=source, target=target)
    return codes.filter(status=source).update(status=target)


# --- Issue ------------------------------------------------------------------------------


def code_entry_record(
    *,
    context: EntryContext,
    shipment,
    outcome: str,
    now,
    code=None,
    reason: str = "",
    writes: WriteBatch | None = None,
) -> CodeEntry:
    """The entry's audit row (rule 10); with `writes`, it goes with the entry's other writes."""
    entry = CodeEntry(
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
    if writes is None:
        entry.save(force_insert=True)
    else:
        writes.insert(entry)
    return entry


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


def codes_revoke_active(*, shipment_ids) -> int:
    return codes_move(
        codes=DeliveryCode.objects.filter(shipment_id__in=shipment_ids),
        source=CodeStatus.ACTIVE,
        target=CodeStatus.REVOKED,
    )


@transaction.atomic
def code_issue(
    *, shipment: Shipment, delivery_day: datetime.date, pickup_point=None, now=None
) -> DeliveryCode:
    """Revoke the parcel's current code, if any, and issue a fresh one, emailed on commit.
    The caller holds the parcel's row lock."""
    now = now or timezone.now()
    codes_revoke_active(shipment_ids=[shipment.pk])
    code = _create_code(
        shipment=shipment, delivery_day=delivery_day, pickup_point=pickup_point, now=now
    )
    code_email_request(code=code, purpose=CodeEmail.Purpose.ISSUED, now=now)
    return code


def codes_issue(*, shipments: list[Shipment], now) -> list[DeliveryCode]:
    """Issue a fresh code for each parcel, for its delivery day, set-based.

    Called inside the caller's transaction with the parcels locked. These codes are bound
    to no pickup point (the parcel's code is bound on arrival there, by
    code_hold_at_pickup_point, which draws again on a collision), so no uniqueness rule but
    one active code per parcel applies: any active code is revoked first, then all are
    inserted at once, and their issue emails are asked for in bulk.
    """
    if not shipments:
        return []
    codes_revoke_active(shipment_ids=[s.pk for s in shipments])
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
    *, shipment: Shipment, pickup_point, collect_by: datetime.date, now=None
) -> DeliveryCode:
    """The code the customer collects the parcel with, valid to the end of `collect_by`.

    The customer keeps the code they already have when it is still valid and no other
    parcel at the point has the same one, so the code in their first email keeps working;
    otherwise (expired, locked, revoked or colliding) they get a fresh code unique at the
    point. Either way they are emailed the code with the point's address and the last
    collection day once the transaction commits. The caller holds the parcel's lock.
    """
    now = now or timezone.now()
    valid_until = end_of_day(collect_by)
    code = (
        DeliveryCode.objects.select_for_update()
        .filter(shipment=shipment, status=CodeStatus.ACTIVE)
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
        codes_revoke_active(shipment_ids=[shipment.pk])
        code = _create_code(
            shipment=shipment, delivery_day=collect_by, pickup_point=pickup_point, now=now
        )
    code_email_request(code=code, purpose=CodeEmail.Purpose.AT_PICKUP_POINT, now=now)
    return code


def codes_revoke_for_override(*, shipment: Shipment) -> int:
    """After an override nothing may ever hand the parcel over again: active and locked
    codes alike are revoked."""
    codes = DeliveryCode.objects.filter(shipment=shipment)
    revoked = codes_move(codes=codes, source=CodeStatus.ACTIVE, target=CodeStatus.REVOKED)
    return revoked + codes_move(codes=codes, source=CodeStatus.LOCKED, target=CodeStatus.REVOKED)


def codes_expire_ended(*, now: datetime.datetime) -> int:
    """Rule 4: one UPDATE expires every active code whose validity has ended."""
    return codes_move(
        codes=DeliveryCode.objects.filter(valid_until__lte=now),
        source=CodeStatus.ACTIVE,
        target=CodeStatus.EXPIRED,
    )


def codes_expire_of(*, shipment_ids) -> int:
    """The parcels went back to the sender: their codes can never be used."""
    return codes_move(
        codes=DeliveryCode.objects.filter(shipment_id__in=shipment_ids),
        source=CodeStatus.ACTIVE,
        target=CodeStatus.EXPIRED,
    )


@transaction.atomic
def code_reencrypt_active(*, rehash: bool = False) -> tuple[int, int]:
    """Re-encrypt every code that may still be shown or checked under the newest key.

    Returns (re-encrypted, unreadable). Rows are locked so that an entry racing this
    never sees a half-rotated code.
    """
    done = unreadable = 0
    codes = DeliveryCode.objects.select_for_update().filter(
        status__in=[CodeStatus.ACTIVE, CodeStatus.LOCKED]
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


# --- Entry ------------------------------------------------------------------------------


def code_entry_malformed(*, context: EntryContext, shipment, now) -> EntryResult:
    """Malformed input is a typing slip, not a guess: recorded but never counted."""
    outcome = Outcome.BLOCKED if person_is_blocked(user=context.user) else Outcome.MALFORMED
    code_entry_record(context=context, shipment=shipment, outcome=outcome, now=now)
    return EntryResult(outcome, shipment=shipment)


def code_entry_refused_if_blocked(*, context: EntryContext, shipment, now) -> EntryResult | None:
    """The person is blocked (rule 6): the entry is refused before any parcel is looked at.

    The caller holds the person's row lock, and this reads the block in a statement begun
    after it was granted: a statement that waited for the lock would still read with its
    older snapshot (PostgreSQL, read committed) and miss a block just committed.
    """
    if not person_is_blocked(user=context.user):
        return None
    code_entry_record(context=context, shipment=shipment, outcome=Outcome.BLOCKED, now=now)
    return EntryResult(Outcome.BLOCKED, shipment=shipment)


def code_entry_state(*, shipment: Shipment, plain: str, user, now) -> QuerySet[DeliveryCode]:
    """The parcel's codes, its current one first (take `.first()`), each carrying what an
    entry of `plain` by `user` decides on, all read in one statement:
    `person_is_blocked` (rule 6, per person), `parcel_is_held` (rule 6, per parcel: operations
    hold it after too many wrong codes in all), `matches_an_earlier_code` (rule 16: the entry
    equals one of the parcel's other codes, found by its keyed hash) and
    `wrong_codes_by_person` (the person's wrong codes that count towards a block so far).

    Read with the person's and the parcel's row locks held, in a statement begun after both
    were granted: a statement that waited for a lock would still read with its older
    snapshot (PostgreSQL, read committed) and miss what the entries it waited for committed.
    The caller may annotate facts of its own to read in the same statement."""
    return current_code_of(shipment).annotate(
        person_is_blocked=Exists(entry_blocks_in_force(user=user)),
        parcel_is_held=Exists(open_holds_of(OuterRef("shipment"))),
        matches_an_earlier_code=Exists(
            DeliveryCode.objects.filter(
                shipment=OuterRef("shipment"), code_hash=tokens.code_hash(plain)
            ).exclude(pk=OuterRef("pk"))
        ),
        wrong_codes_by_person=Coalesce(
            Subquery(
                _wrong_codes_counted(user, now=now)
                .order_by()
                .values("user")
                .annotate(count=Count("pk"))
                .values("count")
            ),
            0,
        ),
    )


def code_find_at_pickup_point(*, pickup_point, plain: str) -> DeliveryCode | None:
    """The code equal to `plain` of a parcel held (or just released) at the point.

    The active one first: it is unique at the point, and the partial unique index finds
    it. Failing that, a locked, expired or used code that is still its parcel's current
    one, so that the operator hears that the parcel is locked, past its collection period
    or already handed over (a double tap on Release parcel is not a wrong code). Failing
    that, an earlier code of a parcel held at the point (rule 16): the check then tells it
    apart without counting it.
    """
    code_hash = tokens.code_hash(plain)
    held_here = DeliveryCode.objects.filter(
        pickup_point=pickup_point,
        code_hash=code_hash,
        shipment__pickup_point=pickup_point,
        shipment__status__in=[Shipment.Status.AT_PICKUP_POINT, Shipment.Status.DELIVERED],
    ).select_related("shipment")
    code = held_here.filter(status=CodeStatus.ACTIVE).first()
    if code is not None:
        return code
    code = (
        held_here.exclude(status__in=[CodeStatus.ACTIVE, CodeStatus.REVOKED])
        .order_by("-issued_at", "-pk")
        .first()
    )
    if code is not None:
        current = current_code_of(code.shipment).values_list("pk", flat=True).first()
        if current == code.pk:
            return code
    # Any code of a parcel waiting here or already collected here, wherever it was issued
    # (the door's code from the shipping email, a code of an earlier collection day): the
    # parcel it names is found, and an earlier code is told apart without counting (rule
    # 16). A parcel still on its way here is not found: its code is a guess until it has
    # arrived, so that nobody learns codes of parcels to come without being counted.
    return (
        DeliveryCode.objects.filter(
            code_hash=code_hash,
            shipment__pickup_point=pickup_point,
            shipment__status__in=[Shipment.Status.AT_PICKUP_POINT, Shipment.Status.DELIVERED],
        )
        .select_related("shipment")
        .order_by("-issued_at", "-pk")
        .first()
    )


def code_entry_wrong_without_parcel(*, context: EntryContext, now) -> EntryResult:
    """A code that names no parcel at the point: a guess, counted against the person."""
    code_entry_record(context=context, shipment=None, outcome=Outcome.WRONG, now=now)
    wrong = _wrong_codes_counted(context.user, now=now).count()
    return EntryResult(Outcome.WRONG, person_blocked=_block_if_over_limit(context.user, wrong, now))


def code_entry_check(
    *,
    shipment: Shipment,
    code: DeliveryCode | None,
    plain: str,
    context: EntryContext,
    now,
    writes: WriteBatch,
) -> EntryResult:
    """The check shared by the courier at the door and the operator at the counter.

    The caller holds the person's and the parcel's row locks (in that order), has checked
    that the parcel may be handed over here and that the person is not blocked, and read
    `code`, the parcel's current code, through code_entry_state (None: it never had one);
    `shipment` was read under the lock. A right code is marked used and the outcome is
    CORRECT: the caller hands the parcel over in the same transaction. Every other outcome
    is recorded and counted here. The writes are added to `writes`, for the caller to send
    with its own in one statement.
    """
    point = context.pickup_point
    matches_current = code is not None and tokens.code_matches(plain, code.code_hash)
    if code is not None and code.parcel_is_held:
        # Rule 6: too many wrong codes in all; only operations can let it go.
        outcome = Outcome.HELD
    elif code is not None and code.status == CodeStatus.LOCKED:
        outcome = Outcome.LOCKED
    elif code is not None and not matches_current and code.matches_an_earlier_code:
        # Rule 16: an older code of this very parcel is not a guess; not counted.
        outcome = Outcome.EARLIER_CODE
    elif code is None or code.status != CodeStatus.ACTIVE or now >= code.valid_until:
        # Validity is checked here, not left to the day-end sweep, so it holds with no
        # worker running.
        outcome = Outcome.EXPIRED
    elif point is not None and code.pickup_point_id != point.pk:
        # The parcel's current code is not yet the one to collect it with here.
        outcome = Outcome.EXPIRED
    elif matches_current:
        code_check_move(source=code.status, target=CodeStatus.USED)
        code.status = CodeStatus.USED
        code.used_at = now
        writes.update_fields(code, ["status", "used_at"])
        code_entry_record(
            context=context,
            shipment=shipment,
            code=code,
            outcome=Outcome.CORRECT,
            now=now,
            writes=writes,
        )
        return EntryResult(Outcome.CORRECT, shipment=shipment)
    else:
        return _count_wrong(shipment=shipment, code=code, context=context, now=now, writes=writes)

    code_entry_record(
        context=context, shipment=shipment, code=code, outcome=outcome, now=now, writes=writes
    )
    return EntryResult(outcome, shipment=shipment)


def _count_wrong(
    *, shipment, code: DeliveryCode, context: EntryContext, now, writes: WriteBatch
) -> EntryResult:
    """Count a wrong code against the code, the parcel and the person. Every change to
    these counters is made under the parcel's or the person's row lock, which the caller
    holds, so the values read with the locks plus one are the new ones: no read back after
    the F() updates."""
    limit = settings.CODE_MAX_WRONG_ATTEMPTS
    code.wrong_attempts += 1
    changes = {"wrong_attempts": F("wrong_attempts") + 1}
    is_locked_now = code.wrong_attempts >= limit
    if is_locked_now:
        code_check_move(source=code.status, target=CodeStatus.LOCKED)
        code.status = changes["status"] = CodeStatus.LOCKED
        logger.warning("Delivery code of %s locked after %d wrong entries", shipment, limit)
    writes.update(DeliveryCode, code.pk, **changes)
    writes.update(Shipment, shipment.pk, wrong_code_entries=F("wrong_code_entries") + 1)
    shipment.wrong_code_entries += 1
    is_held = wrong_entry_alerts(shipment=shipment, code=code, now=now, writes=writes)
    code_entry_record(
        context=context, shipment=shipment, code=code, outcome=Outcome.WRONG, now=now, writes=writes
    )
    person_blocked = _block_if_over_limit(context.user, code.wrong_codes_by_person + 1, now)
    return EntryResult(
        Outcome.WRONG,
        tries_left=0 if is_held else max(limit - code.wrong_attempts, 0),
        person_blocked=person_blocked,
        code_locked=is_locked_now,
        parcel_held=is_held,
        shipment=shipment,
    )


# --- Rule 6, per person: too many wrong codes across parcels blocks code entry -------------


def _wrong_codes_counted(user, *, now) -> QuerySet[CodeEntry]:
    """The person's wrong codes that count towards a block: those within the window, and
    after operations last lifted a block of theirs, if ever (a lifted block gives a fresh
    start). Read under the person's row lock, so the count is exact."""
    since = now - datetime.timedelta(minutes=settings.COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES)
    last_lifted = (
        EntryBlock.objects.filter(user=user, lifted_at__isnull=False)
        .order_by("-lifted_at")
        .values("lifted_at")[:1]
    )
    return CodeEntry.objects.filter(
        user=user, outcome=Outcome.WRONG, created_at__gte=since, created_at__lte=now
    ).filter(Q(created_at__gt=Subquery(last_lifted)) | ~Exists(last_lifted))


def _block_if_over_limit(user, wrong: int, now) -> bool:
    """Block the person once `wrong`, their wrong codes counted with this one, reaches the
    limit. The caller holds the person's row lock."""
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
