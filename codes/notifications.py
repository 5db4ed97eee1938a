"""Emails about delivery codes: asked for inside a service's transaction, sent by a worker.

Besides the tracking page this is the only place that sees a plain code. A `CodeEmail` row
is written with the change that calls for the email; the worker sends it and stamps
`sent_at`, so sending twice is harmless, and a row whose task never reached the broker is
queued again by `queue_unsent_code_emails`.
"""

import datetime
import json
import logging
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from orders.days import delivery_time_zone, end_of_day, last_valid_minute
from orders.models import Shipment
from otpdelivery.background import run_in_background
from otpdelivery.emails import render_email
from otpdelivery.opening_hours import collection_deadline
from otpdelivery.signin_links import tracking_signin_url
from otpdelivery.writes import WriteBatch

from . import tokens
from .models import CodeEmail, DeliveryCode

logger = logging.getLogger(__name__)

Purpose = CodeEmail.Purpose

# Emails that carry the code itself; the alerts never do.
CARRIES_CODE = {Purpose.ISSUED, Purpose.RESENT, Purpose.AT_PICKUP_POINT}

# Characters that could end a <script> element early, as Django's json_script escapes them.
_JSON_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def code_email_request(
    *, code: DeliveryCode, purpose: str, now: datetime.datetime, writes: WriteBatch | None = None
):
    """Record that the customer is to get this email and queue it once the caller commits.

    Returns the new CodeEmail, or None when a once-per-code email was already asked for.
    With `writes`, the row goes with the caller's other writes of the entry, and None is
    returned: whether it was new is known once they are sent (it is queued if it was).
    """
    if writes is not None:
        writes.insert(
            CodeEmail(code=code, purpose=purpose, requested_at=now),
            ignore_conflicts=purpose in CodeEmail.ONCE_PER_CODE,
            then=_queue_if_new,
        )
        return None
    if purpose in CodeEmail.ONCE_PER_CODE:
        email = _request_once(code=code, purpose=purpose, now=now)
        if email is None:
            return None
    else:
        email = CodeEmail.objects.create(code=code, purpose=purpose, requested_at=now)
    transaction.on_commit(partial(_queue_after_commit, code_email_ids=[email.pk]))
    return email


def _queue_if_new(email: CodeEmail) -> None:
    if email.pk is not None:
        transaction.on_commit(partial(_queue_after_commit, code_email_ids=[email.pk]))


def _queue_after_commit(*, code_email_ids: list[int]) -> None:
    """Hand the emails to Celery without keeping the request waiting on the broker (the
    first wrong code's alert is on the courier's path): a background thread publishes them.
    Their rows are committed, so a publish lost with its process is queued again by
    queue_unsent_code_emails. Tasks run inline (no broker) are sent here and now."""
    from .tasks import send_code_email

    if send_code_email.app.conf.task_always_eager:
        code_emails_queue(code_email_ids=code_email_ids)
    else:
        run_in_background(partial(code_emails_queue, code_email_ids=code_email_ids))


def _request_once(*, code: DeliveryCode, purpose: str, now) -> CodeEmail | None:
    """The new CodeEmail, or None when the code already has one for this purpose.

    One statement, INSERT … ON CONFLICT DO NOTHING RETURNING, on the first wrong code's
    path: get_or_create takes four (select, savepoint, insert, release). It does what
    _request_once_with_orm below does, which tests/codes/test_emails.py checks."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(CodeEmail._meta.db_table)}"  # noqa: S608
            f" ({quote('code_id')}, {quote('purpose')}, {quote('requested_at')})"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
            [code.pk, purpose, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return CodeEmail(pk=row[0], code=code, purpose=purpose, requested_at=now)


def _request_once_with_orm(*, code: DeliveryCode, purpose: str, now) -> CodeEmail | None:
    """What _request_once does, through the ORM."""
    email, created = CodeEmail.objects.get_or_create(
        code=code, purpose=purpose, defaults={"requested_at": now}
    )
    return email if created else None


def code_emails_request_issued(*, codes: list[DeliveryCode], now: datetime.datetime) -> list:
    """The issue email of each of these new codes, in one INSERT, queued in chunks once the
    caller commits. The codes are new, so none has its once-per-code issue email yet; the
    constraint still refuses a second one."""
    emails = CodeEmail.objects.bulk_create(
        (CodeEmail(code=code, purpose=Purpose.ISSUED, requested_at=now) for code in codes),
        batch_size=2000,
    )
    ids = [email.pk for email in emails]
    for start in range(0, len(ids), QUEUE_CHUNK):
        transaction.on_commit(
            partial(code_emails_queue, code_email_ids=ids[start : start + QUEUE_CHUNK])
        )
    return emails


# Tasks published over one broker connection after a commit.
QUEUE_CHUNK = 500


def code_emails_queue(*, code_email_ids: list[int]) -> int:
    """Hand emails to Celery over one broker connection, one task (one id) each.

    With the broker down this logs and stops rather than failing the request that committed
    them: the rest stay unsent in the database and are queued again later
    (queue_unsent_code_emails). Returns how many were queued."""
    from .tasks import send_code_email

    queued = 0
    try:
        with send_code_email.app.producer_or_acquire() as producer:
            for code_email_id in code_email_ids:
                send_code_email.apply_async((code_email_id,), producer=producer)
                queued += 1
    except OperationalError:
        logger.warning(
            "Broker unreachable; %d code emails stay queued in the database",
            len(code_email_ids) - queued,
        )
    return queued


@transaction.atomic
def code_email_send(*, code_email_id: int) -> bool:
    """Send one CodeEmail unless it already went out; True when it was sent now.

    The row lock (skipping a row another worker is sending) and `sent_at` make a second
    run a no-op. An SMTP error propagates and rolls back, so the task's retry sends again.
    """
    email = (
        CodeEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("code__shipment__order")
        .filter(
            pk=code_email_id,
            sent_at__isnull=True,
            failed_at__isnull=True,
            superseded_at__isnull=True,
        )
        .first()
    )
    if email is None:
        return False
    now = timezone.now()
    out_of_date = _out_of_date(email)
    if out_of_date:
        # The parcel moved on since the email was asked for: sending it now would contradict
        # what the customer sees (and a newer email of theirs). Not a failure: superseded.
        email.superseded_at = now
        email.save(update_fields=["superseded_at"])
        logger.info("Code email %s not sent: %s", email.pk, out_of_date)
        return False
    message = build_message(email)
    if message is None:
        email.failed_at = now
        email.save(update_fields=["failed_at"])
        logger.error("Code email %s not sent: no configured key decrypts its code", email.pk)
        return False
    message.send()
    email.sent_at = now
    email.save(update_fields=["sent_at"])
    logger.info("Sent %s email for parcel %s", email.purpose, email.code.shipment.tracking_number)
    return True


# Where a parcel must still be for each email to be true when it is sent.
_STILL_TRUE_IN = {
    # "On its way, delivered on <day>" (to the door, or to the pickup point it is addressed
    # to), also after a failed attempt gave it a new day and this new code
    Purpose.ISSUED: {
        Shipment.Status.SHIPPED,
        Shipment.Status.OUT_FOR_DELIVERY,
        Shipment.Status.DELIVERY_FAILED,
    },
    # "Ready for collection at <point> until <day>"
    Purpose.AT_PICKUP_POINT: {Shipment.Status.AT_PICKUP_POINT},
    # "Here is your code again": whatever the current state, as long as it can be used
    Purpose.RESENT: {
        Shipment.Status.SHIPPED,
        Shipment.Status.OUT_FOR_DELIVERY,
        Shipment.Status.AT_PICKUP_POINT,
        Shipment.Status.DELIVERY_FAILED,
    },
    # "Held by operations until they release it"
    Purpose.HELD: {
        Shipment.Status.SHIPPED,
        Shipment.Status.OUT_FOR_DELIVERY,
        Shipment.Status.AT_PICKUP_POINT,
        Shipment.Status.DELIVERY_FAILED,
    },
}


def _out_of_date(email: CodeEmail) -> str:
    """Why what `email` says is no longer true at sending time, or "" when it still is.

    Asked for inside the change that called for it, an email is sent after the commit, by
    a worker, maybe minutes later: by then the parcel may have reached a pickup point, been
    delivered or rescheduled, and a newer email says so.
    """
    code = email.code
    shipment = code.shipment
    if email.purpose in CARRIES_CODE and code.status != DeliveryCode.Status.ACTIVE:
        return "its code is no longer active"
    if email.purpose in CARRIES_CODE and code.delivery_day != shipment.delivery_day:
        return "the parcel has another day now"
    allowed = _STILL_TRUE_IN.get(email.purpose)
    if allowed is not None and shipment.status not in allowed:
        return f"the parcel is {shipment.status} now"
    if email.purpose == Purpose.HELD and not shipment.holds.filter(released_at=None).exists():
        return "the parcel's hold was released"
    return ""


@transaction.atomic
def code_email_give_up(*, code_email_id: int) -> None:
    """Every retry failed: stop queueing this email again (operations see it in the admin)."""
    CodeEmail.objects.filter(pk=code_email_id, sent_at__isnull=True).update(
        failed_at=timezone.now()
    )


def unsent_code_email_ids(*, now: datetime.datetime) -> list[int]:
    """Emails asked for a while ago and neither sent nor given up: their task was lost
    (broker down when they were queued). Older than a day they are no longer worth sending."""
    requeue_after = datetime.timedelta(minutes=settings.CODE_EMAIL_REQUEUE_AFTER_MINUTES)
    return list(
        CodeEmail.objects.filter(
            sent_at__isnull=True,
            failed_at__isnull=True,
            superseded_at__isnull=True,
            requested_at__lte=now - requeue_after,
            requested_at__gt=now - datetime.timedelta(days=1),
        )
        .order_by("requested_at")
        .values_list("pk", flat=True)
    )


# --- The message itself ----------------------------------------------------------------


def _tracking_url(shipment) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("track", args=[shipment.tracking_number])


def _structured_data(*, shipment, code: DeliveryCode, digits: str) -> str:
    """schema.org ParcelDelivery markup, so mail clients can show the code and its validity."""
    zone = delivery_time_zone()
    available_from = end_of_day(code.delivery_day - datetime.timedelta(days=1))
    available_through = code.valid_until - datetime.timedelta(seconds=1)
    data = {
        "@context": "https://schema.org",
        "@type": "ParcelDelivery",
        "trackingNumber": shipment.tracking_number,
        "trackingUrl": _tracking_url(shipment),
        "expectedArrivalFrom": available_from.astimezone(zone).isoformat(),
        "expectedArrivalUntil": available_through.astimezone(zone).isoformat(),
        "carrier": {"@type": "Organization", "name": "otpdelivery"},
        "partOfOrder": {
            "@type": "Order",
            "orderNumber": shipment.order.number,
            "merchant": {"@type": "Organization", "name": "otpdelivery"},
        },
        "deliveryStatus": {
            "@type": "DeliveryEvent",
            "accessCode": digits,
            "availableFrom": available_from.astimezone(zone).isoformat(),
            "availableThrough": available_through.astimezone(zone).isoformat(),
        },
    }
    encoded = json.dumps(data, cls=DjangoJSONEncoder).translate(_JSON_SCRIPT_ESCAPES)
    return mark_safe(f'<script type="application/ld+json">{encoded}</script>')  # noqa: S308


def _texts(email: CodeEmail, *, is_replacement: bool) -> dict:
    """Subject and opening lines for each purpose, in the active (the order's) language."""
    shipment = email.code.shipment
    names = {"tracking": shipment.tracking_number, "number": shipment.order.number}
    local_now = timezone.localtime(email.requested_at, delivery_time_zone())
    at = date_format(local_now, "H:i")
    if email.purpose == Purpose.ISSUED and is_replacement:
        return {
            "subject": _("New delivery code for parcel %(tracking)s") % names,
            "intro": _(
                "Your parcel %(tracking)s (order %(number)s) has a new delivery day and a new "
                "delivery code. The previous code no longer works."
            )
            % names,
        }
    if email.purpose == Purpose.ISSUED:
        return {
            "subject": _("Your delivery code for parcel %(tracking)s") % names,
            "intro": _("Your parcel %(tracking)s (order %(number)s) is on its way.") % names,
        }
    if email.purpose == Purpose.RESENT:
        return {
            "subject": _("Your delivery code for parcel %(tracking)s (sent again)") % names,
            "intro": _(
                "As you asked, here is the delivery code of your parcel %(tracking)s "
                "(order %(number)s) again."
            )
            % names,
        }
    if email.purpose == Purpose.WRONG_CODE:
        return {
            "subject": _("A wrong delivery code was entered for parcel %(tracking)s") % names,
            "intro": _(
                "At %(at)s a wrong delivery code was entered for your parcel %(tracking)s "
                "(order %(number)s). If you read your code to the courier, check it on the "
                "Track my package page. If nobody was at your door, the parcel is safe: it "
                "is handed over only against the right code."
            )
            % {**names, "at": at},
        }
    if email.purpose == Purpose.LOCKED:
        return {
            "subject": _("Delivery code locked for parcel %(tracking)s") % names,
            "intro": _(
                "The delivery code of your parcel %(tracking)s (order %(number)s) was locked "
                "after %(count)d wrong entries, so nobody can take the parcel with it. You "
                "will get a new code with the next delivery day, and our operations team "
                "has been alerted."
            )
            % {**names, "count": settings.CODE_MAX_WRONG_ATTEMPTS},
        }
    return {
        "subject": _("Parcel %(tracking)s held for checks") % names,
        "intro": _(
            "After %(count)d wrong delivery codes in all, your parcel %(tracking)s "
            "(order %(number)s) is held by our operations team. It will not be handed "
            "over to anyone until they have checked it and released it."
        )
        % {**names, "count": settings.PARCEL_MAX_WRONG_ATTEMPTS},
    }


def build_message(email: CodeEmail) -> EmailMultiAlternatives | None:
    """The email in plain text and HTML, in the order's language; None if undecryptable."""
    code = email.code
    shipment = code.shipment
    order = shipment.order
    digits = None
    if email.purpose in CARRIES_CODE:
        digits = tokens.decrypt(code.code_encrypted)
        if digits is None:
            return None
    if digits is not None and _waits_at_pickup_point(email):
        return _pickup_ready_message(email, digits)
    is_replacement = shipment.codes.filter(pk__lt=code.pk).exists()
    with translation.override(order.language or settings.LANGUAGE_CODE):
        texts = _texts(email, is_replacement=is_replacement)
    context = {
        **texts,
        "shipment": shipment,
        "order": order,
        "carries_code": digits is not None,
        # On its way to a pickup point: collected at the counter, never at a door.
        "pickup_point": shipment.pickup_point if shipment.pickup_point_id else None,
        "code_grouped": tokens.group_for_reading(digits) if digits else "",
        "delivery_day": code.delivery_day,
        "valid_until": last_valid_minute(code.valid_until),
        "tracking_url": tracking_signin_url(shipment),
        "structured_data": (
            _structured_data(shipment=shipment, code=code, digits=digits) if digits else ""
        ),
    }
    return render_email(
        template="codes/email/code",
        context=context,
        subject=texts["subject"],
        to=order.email,
        language=order.language,
    )


# --- Pickup points ------------------------------------------------------------------


def _waits_at_pickup_point(email: CodeEmail) -> bool:
    """The arrival email, and any resend while the parcel waits at its point, say where to
    collect it and until when, rather than a delivery day at the door."""
    code = email.code
    return email.purpose == Purpose.AT_PICKUP_POINT or (
        email.purpose == Purpose.RESENT
        and code.pickup_point_id is not None
        and code.shipment.status == Shipment.Status.AT_PICKUP_POINT
    )


def _pickup_ready_message(email: CodeEmail, digits: str) -> EmailMultiAlternatives:
    code = email.code
    shipment = code.shipment
    # The last day the point opens and its closing time then: what the customer can do,
    # not midnight of a day the counter may be shut.
    collect_by, closes_at = collection_deadline(
        code.pickup_point.opening_hours,
        last_day=code.delivery_day,
        today=timezone.localdate(email.requested_at, delivery_time_zone()),
    )
    context = {
        "shipment": shipment,
        "order": shipment.order,
        "pickup_point": code.pickup_point,
        "code_grouped": tokens.group_for_reading(digits),
        "collect_by": collect_by,
        "closes_at": closes_at,
        "valid_until": last_valid_minute(code.valid_until),
        "tracking_url": tracking_signin_url(shipment),
    }
    return render_email(
        template="codes/email/pickup_ready",
        context=context,
        to=shipment.order.email,
        language=shipment.order.language,
    )
