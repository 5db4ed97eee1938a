"""A code's life after it is issued: emails and holds after wrong entries (rule 6), and
sending it again on request (rule 12)."""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.models import Shipment
from otpdelivery.writes import WriteBatch

from .exceptions import NoCodeToResend, ResendLimitReached
from .models import CodeEmail, DeliveryCode, ParcelHold
from .notifications import code_email_request
from .selectors import parcel_is_held

logger = logging.getLogger(__name__)

Purpose = CodeEmail.Purpose

RESEND_WINDOW = datetime.timedelta(hours=1)


# --- Wrong entries: alerts and the parcel hold ----------------------------------------------


def wrong_entry_alerts(
    *, shipment: Shipment, code: DeliveryCode, now: datetime.datetime, writes: WriteBatch
) -> bool:
    """After a wrong entry is counted, inside the entry's transaction: tell the customer
    (the first wrong code of a code, and its lock, each once) and hold the parcel once its
    wrong entries in all, across its codes, reach PARCEL_MAX_WRONG_ATTEMPTS. The emails'
    rows go with the entry's other writes.

    True when the parcel is held now.
    """
    if code.wrong_attempts == 1:
        code_email_request(code=code, purpose=Purpose.WRONG_CODE, now=now, writes=writes)
    # The caller counted this entry under the parcel's lock: the count is current.
    holds_now = shipment.wrong_code_entries >= settings.PARCEL_MAX_WRONG_ATTEMPTS and (
        not parcel_is_held(shipment=shipment)
    )
    if code.status == DeliveryCode.Status.LOCKED and not holds_now:
        # Not when this entry also holds the parcel: "a new code with the next delivery
        # day" would contradict the hold's email, which says all the customer needs.
        code_email_request(code=code, purpose=Purpose.LOCKED, now=now, writes=writes)
    if shipment.wrong_code_entries < settings.PARCEL_MAX_WRONG_ATTEMPTS:
        return False
    if holds_now:
        ParcelHold.objects.create(
            shipment=shipment, held_at=now, wrong_code_entries=shipment.wrong_code_entries
        )
        code_email_request(code=code, purpose=Purpose.HELD, now=now, writes=writes)
        logger.warning(
            "Parcel %s held for operations after %d wrong codes",
            shipment.tracking_number,
            shipment.wrong_code_entries,
        )
    return True


@transaction.atomic
def parcel_hold_release(*, shipment: Shipment, actor, now: datetime.datetime) -> ParcelHold | None:
    """Operations let a held parcel take code entries again; the hold row keeps who and when.

    The parcel's count of wrong entries is not reset: one more wrong code holds it again.
    """
    hold = (
        ParcelHold.objects.select_for_update()
        .filter(shipment=shipment, released_at__isnull=True)
        .first()
    )
    if hold is None:
        return None
    hold.released_at = now
    hold.released_by = actor
    hold.save(update_fields=["released_at", "released_by"])
    logger.info("Parcel %s released by %s", shipment.tracking_number, actor)
    return hold


# --- Send my code again -----------------------------------------------------------------


@transaction.atomic
def code_resend(*, shipment: Shipment, now: datetime.datetime | None = None) -> CodeEmail:
    """Email the parcel's current code again, at most CODE_RESEND_MAX_PER_HOUR times an hour.

    Counted in the database under the parcel's row lock, so every web process and
    concurrent click sees the same count. The time is read once the lock is held (unless
    a test gives one), so the requests counted are exactly those committed before.
    """
    shipment = Shipment.objects.select_for_update(no_key=True).get(pk=shipment.pk)
    now = now or timezone.now()
    code = DeliveryCode.objects.filter(
        shipment=shipment, status=DeliveryCode.Status.ACTIVE, valid_until__gt=now
    ).first()
    if code is None:
        raise NoCodeToResend(shipment.tracking_number)
    limit = settings.CODE_RESEND_MAX_PER_HOUR
    recent = list(
        CodeEmail.objects.filter(
            code__shipment=shipment, purpose=Purpose.RESENT, requested_at__gt=now - RESEND_WINDOW
        )
        .order_by("-requested_at")
        .values_list("requested_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        raise ResendLimitReached(next_allowed_at=recent[-1] + RESEND_WINDOW)
    return code_email_request(code=code, purpose=Purpose.RESENT, now=now)
