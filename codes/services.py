"""Issuing and checking delivery codes. Every entry leaves a CodeEntry row."""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders.days import end_of_day
from orders.models import Shipment
from orders.services import shipment_mark_delivered

from . import tokens
from .exceptions import CodeEntryNotAllowed, CodeGenerationFailed
from .models import CodeEntry, DeliveryCode, EntryBlock
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


@transaction.atomic
def code_issue(
    *, shipment: Shipment, delivery_day: datetime.date, pickup_point=None
) -> DeliveryCode:
    """Revoke the parcel's current code, if any, and issue a fresh one, emailed on commit.

    Among codes active at one pickup point no two are equal, so a draw that collides
    there (the database constraint says so) is thrown away and drawn again.
    """
    from .tasks import send_delivery_code_email

    now = timezone.now()
    DeliveryCode.objects.filter(shipment=shipment, status=DeliveryCode.Status.ACTIVE).update(
        status=DeliveryCode.Status.REVOKED
    )
    for _draw in range(_MAX_DRAWS):
        plain = tokens.generate_code()
        try:
            with transaction.atomic():
                code = DeliveryCode.objects.create(
                    shipment=shipment,
                    code_hash=tokens.code_hash(plain),
                    code_encrypted=tokens.encrypt(plain),
                    delivery_day=delivery_day,
                    valid_until=end_of_day(delivery_day),
                    pickup_point=pickup_point,
                    issued_at=now,
                )
        except IntegrityError:
            continue
        send_delivery_code_email.delay_on_commit(code.pk)
        return code
    raise CodeGenerationFailed(f"No free code found for {shipment} after {_MAX_DRAWS} draws.")


def _current_code(shipment: Shipment) -> DeliveryCode | None:
    return shipment.codes.order_by("-issued_at", "-pk").first()


def code_verify(*, shipment: Shipment, raw_code: str, context: EntryContext) -> EntryResult:
    """Check a code entered at the door or counter and, if right, hand the parcel over.

    Never raises for a wrong, malformed, expired or locked code: each is an outcome, and
    its CodeEntry (and wrong-attempt counts) must commit like any other.
    """
    now = timezone.now()
    plain = tokens.normalize(raw_code)
    if plain is None:
        # Malformed input is a typing slip, not a guess: recorded but never counted.
        outcome = Outcome.BLOCKED if _entry_blocked(context.user) else Outcome.MALFORMED
        _record(context=context, shipment=shipment, outcome=outcome, now=now)
        return EntryResult(outcome)

    with transaction.atomic():
        # Locking the person first serialises their entries across all parcels, so the
        # per-person count of wrong codes is exact however many requests race (rule 6).
        _lock_person(context.user)
        if _entry_blocked(context.user):
            # Refused before the parcel is even looked at: its counters stay untouched.
            _record(context=context, shipment=shipment, outcome=Outcome.BLOCKED, now=now)
            return EntryResult(Outcome.BLOCKED)
        # The row lock serialises entries for one parcel: exactly-once delivery and exact
        # wrong-attempt counts under concurrent submissions.
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if shipment.is_delivered:
            _record(context=context, shipment=shipment, outcome=Outcome.ALREADY_DELIVERED, now=now)
            return EntryResult(Outcome.ALREADY_DELIVERED)
        if not shipment.requires_code:
            raise CodeEntryNotAllowed(f"{shipment} needs no code.")

        code = _current_code(shipment)
        if code is None or code.status in {
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
            shipment_mark_delivered(shipment=shipment, actor=context.user, now=now)
            _record(context=context, shipment=shipment, code=code, outcome=Outcome.CORRECT, now=now)
            return EntryResult(Outcome.CORRECT)
        else:
            return _count_wrong(shipment=shipment, code=code, context=context, now=now)

        _record(context=context, shipment=shipment, code=code, outcome=outcome, now=now)
        return EntryResult(outcome)


def _count_wrong(*, shipment, code: DeliveryCode, context: EntryContext, now) -> EntryResult:
    limit = settings.CODE_MAX_WRONG_ATTEMPTS
    DeliveryCode.objects.filter(pk=code.pk).update(wrong_attempts=F("wrong_attempts") + 1)
    Shipment.objects.filter(pk=shipment.pk).update(wrong_code_entries=F("wrong_code_entries") + 1)
    code.refresh_from_db(fields=["wrong_attempts"])
    if code.wrong_attempts >= limit:
        code.status = DeliveryCode.Status.LOCKED
        code.save(update_fields=["status"])
        logger.warning("Delivery code of %s locked after %d wrong entries", shipment, limit)
    _record(context=context, shipment=shipment, code=code, outcome=Outcome.WRONG, now=now)
    person_blocked = _block_if_over_limit(context.user, now=now)
    return EntryResult(
        Outcome.WRONG,
        tries_left=max(limit - code.wrong_attempts, 0),
        person_blocked=person_blocked,
    )


# --- Rule 6, per person: too many wrong codes across parcels blocks code entry -------------


def _lock_person(user) -> None:
    # The user row is the one row every entry by this person shares, whatever the parcel.
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").get()


def _entry_blocked(user) -> bool:
    return person_is_blocked(user=user)


def _block_if_over_limit(user, *, now) -> bool:
    """Block the person once their wrong codes within the window reach the limit.

    Wrong codes entered before operations last lifted a block do not count again, so a
    lifted block gives a fresh start. The caller holds the person's row lock.
    """
    since = now - datetime.timedelta(minutes=settings.COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES)
    last_lifted = (
        EntryBlock.objects.filter(user=user, lifted_at__isnull=False)
        .order_by("-lifted_at")
        .values_list("lifted_at", flat=True)
        .first()
    )
    wrong_entries = CodeEntry.objects.filter(
        user=user, outcome=Outcome.WRONG, created_at__gte=since, created_at__lte=now
    )
    if last_lifted is not None:
        wrong_entries = wrong_entries.filter(created_at__gt=last_lifted)
    wrong = wrong_entries.count()
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
        return EntryResult(Outcome.ALREADY_DELIVERED)
    if shipment.requires_code:
        raise CodeEntryNotAllowed(f"{shipment} can only be handed over against its code.")
    shipment_mark_delivered(shipment=shipment, actor=context.user, now=now)
    _record(context=context, shipment=shipment, outcome=Outcome.NO_CODE_NEEDED, now=now)
    return EntryResult(Outcome.NO_CODE_NEEDED)
