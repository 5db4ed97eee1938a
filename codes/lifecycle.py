"""A code's life after it is issued: alerts and holds after wrong entries (rules 6 and
12), sending it again on request (rule 12), and the day-end sweep (rules 4 and 8)."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders.days import local_today
from orders.models import Shipment
from orders.services import missed_deliveries, shipment_record_missed_delivery

from .exceptions import NoCodeToResend, ResendLimitReached
from .models import CodeEmail, DeliveryCode, ParcelHold
from .notifications import code_email_request
from .selectors import parcel_is_held

logger = logging.getLogger(__name__)

Purpose = CodeEmail.Purpose

RESEND_WINDOW = datetime.timedelta(hours=1)


# --- Wrong entries: alerts and the parcel hold ----------------------------------------------


def wrong_entry_alerts(*, shipment: Shipment, code: DeliveryCode, now: datetime.datetime) -> bool:
    """After a wrong entry is counted, inside code_verify's transaction: tell the customer
    (the first wrong code of a code, and its lock, each once) and hold the parcel once its
    wrong entries in all, across its codes, reach PARCEL_MAX_WRONG_ATTEMPTS.

    True when the parcel is held now.
    """
    if code.wrong_attempts == 1:
        code_email_request(code=code, purpose=Purpose.WRONG_CODE, now=now)
    if code.status == DeliveryCode.Status.LOCKED:
        code_email_request(code=code, purpose=Purpose.LOCKED, now=now)
    # The caller counted this entry under the parcel's lock: the count is current.
    if shipment.wrong_code_entries < settings.PARCEL_MAX_WRONG_ATTEMPTS:
        return False
    if not parcel_is_held(shipment=shipment):
        ParcelHold.objects.create(
            shipment=shipment, held_at=now, wrong_code_entries=shipment.wrong_code_entries
        )
        code_email_request(code=code, purpose=Purpose.HELD, now=now)
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
    shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
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


# --- The day-end sweep ------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    expired: int
    rescheduled: int


def code_day_end_sweep(*, now: datetime.datetime | None = None) -> SweepResult:
    """Rules 4 and 8, run by beat just after local midnight and by `manage.py expire_codes`.

    First each home delivery still out for delivery after its day is recorded as missed
    and rescheduled (the only per-parcel work, for those parcels only); then one UPDATE
    expires every active code whose validity has ended. Each step filters on current
    state, so a second run changes nothing and a late run catches up on every day missed.
    """
    now = now or timezone.now()
    missed_ids = list(
        missed_deliveries(today=local_today(now)).order_by("pk").values_list("pk", flat=True)
    )
    rescheduled = 0
    for shipment_id in missed_ids:
        try:
            if shipment_record_missed_delivery(shipment_id=shipment_id, now=now):
                rescheduled += 1
        except Exception:
            # One parcel's fault must not keep the others, or the expiry below, waiting;
            # the next run tries it again.
            logger.exception("Day-end sweep could not reschedule parcel id %s", shipment_id)
    expired = DeliveryCode.objects.filter(
        status=DeliveryCode.Status.ACTIVE, valid_until__lte=now
    ).update(status=DeliveryCode.Status.EXPIRED)
    logger.info("Day-end sweep: %d codes expired, %d parcels rescheduled", expired, rescheduled)
    return SweepResult(expired=expired, rescheduled=rescheduled)
