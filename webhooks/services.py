"""Webhook endpoints and events: registered by the API, recorded by the services that change
a parcel (in their own transaction), sent by a worker after the commit.

Dependencies: orders, codes (for the encryption of secrets) and retailers only, so that the
hand-over layer can call `webhook_events_record` from inside its transactions.
"""

import base64
import datetime
import http.client
import json
import logging
import secrets
import time
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError
from standardwebhooks.webhooks import Webhook

from codes import tokens
from orders.models import Shipment

from . import network
from .models import EventType, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .representation import shipment_data

logger = logging.getLogger(__name__)

# Waits between attempts after a failure (the Standard Webhooks / Svix schedule): the last
# attempt comes about 27 hours after the first, so an endpoint down for a day still gets it.
RETRY_DELAYS = [
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
    datetime.timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Retries due sooner than this are handed to the worker with a countdown; later ones are
# picked up by the periodic `send_due_webhooks` (broker queues are no place for day-long ETAs).
COUNTDOWN_LIMIT = datetime.timedelta(minutes=5)


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def webhook_endpoint_secret(endpoint: WebhookEndpoint) -> str:
    secret = tokens.decrypt(endpoint.secret_encrypted)
    if secret is None:
        raise RuntimeError(f"No configured key decrypts the secret of endpoint {endpoint.pk}.")
    return secret


@transaction.atomic
def webhook_secrets_reencrypt() -> tuple[int, int]:
    """Re-encrypt the signing secret of every live endpoint under the newest of
    DELIVERY_CODE_ENCRYPTION_KEYS, after a key rotation (the codes' keys: see
    `rotate_code_keys`). Returns (re-encrypted, unreadable). Removed endpoints are never sent
    to again, so their secrets are left as they are."""
    done = unreadable = 0
    for endpoint in WebhookEndpoint.objects.select_for_update().filter(deleted_at__isnull=True):
        secret = tokens.decrypt(endpoint.secret_encrypted)
        if secret is None:
            unreadable += 1
            continue
        endpoint.secret_encrypted = tokens.encrypt(secret)
        endpoint.save(update_fields=["secret_encrypted"])
        done += 1
    return done, unreadable


@transaction.atomic
def webhook_endpoint_create(
    *, retailer, url: str, events: list[str] | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its signing secret (shown once). Raises
    network.UnsafeWebhookUrl for a URL we will not send to."""
    network.resolve_target(url)
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        retailer=retailer,
        url=url,
        events=sorted(set(events or [])),
        secret_encrypted=tokens.encrypt(secret),
        created_at=timezone.now(),
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Stop sending to the endpoint; its deliveries stay as the record. Pending ones are
    given up."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk, deleted_at__isnull=True).update(deleted_at=now)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None
    )


def _body(*, event_type: str, data: dict, now: datetime.datetime) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": now, "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


@transaction.atomic(savepoint=False)
def webhook_events_record(
    *,
    shipment: Shipment,
    type: str,
    now: datetime.datetime | None = None,  # noqa: A002
) -> list[WebhookDelivery]:
    """Record the event for every endpoint of the parcel's retailer that wants it, in the
    caller's transaction, and send it once that commits. Nothing is written for a parcel
    whose retailer has no endpoint for this type.

    The body (the parcel as the API shows it) is written right after the commit, so that
    it holds everything the transaction did, even what it wrote after this call (the
    audit row of a hand-over, with the proof of delivery); if the process stops before
    that, the first send attempt writes it. It never changes afterwards."""
    return webhook_events_record_many(shipments=[shipment], type=type, now=now)


@transaction.atomic(savepoint=False)
def webhook_events_record_many(
    *,
    shipments,
    type: str,
    now: datetime.datetime | None = None,  # noqa: A002
) -> list[WebhookDelivery]:
    """The same for many parcels at once (bulk shipping): one query finds the endpoints."""
    EventType(type)  # an unknown type is a programming error: fail loudly
    now = now or timezone.now()
    shipments = list(shipments)
    # One query: the live endpoints of these parcels' retailers, with the parcel each is for.
    endpoints_of: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in (
        WebhookEndpoint.objects.filter(
            deleted_at__isnull=True,
            retailer__orders__shipments__pk__in=[shipment.pk for shipment in shipments],
        )
        .annotate(for_shipment=F("retailer__orders__shipments__pk"))
        .order_by("pk")
    ):
        if endpoint.wants(type):
            endpoints_of.setdefault(endpoint.for_shipment, []).append(endpoint)
    if not endpoints_of:
        return []
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            shipment_id=shipment.pk,
            message_id="msg_" + secrets.token_urlsafe(18),
            event_type=type,
            created_at=now,
            next_attempt_at=now,
        )
        for shipment in shipments
        for endpoint in endpoints_of.get(shipment.pk, [])
    ]
    if not deliveries:
        return []
    WebhookDelivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(partial(_write_bodies_and_queue, delivery_ids=ids))
    return deliveries


def _write_bodies_and_queue(*, delivery_ids: list[int]) -> None:
    webhook_bodies_write(delivery_ids=delivery_ids)
    webhook_deliveries_queue(delivery_ids=delivery_ids)


@transaction.atomic
def webhook_bodies_write(*, delivery_ids: list[int]) -> None:
    """Write the body of each delivery that has none yet: one snapshot per parcel and
    event, shared by its endpoints."""
    pending = WebhookDelivery.objects.filter(pk__in=delivery_ids, body="")
    groups = {}
    for delivery_id, shipment_id, event_type, created_at in pending.values_list(
        "pk", "shipment_id", "event_type", "created_at"
    ):
        groups.setdefault((shipment_id, event_type, created_at), []).append(delivery_id)
    for (shipment_id, event_type, created_at), ids in groups.items():
        data = shipment_data(Shipment(pk=shipment_id))
        WebhookDelivery.objects.filter(pk__in=ids, body="").update(
            body=_body(event_type=event_type, data=data, now=created_at)
        )


def webhook_deliveries_queue(*, delivery_ids: list[int], countdown: float = 0) -> int:
    """Hand deliveries to Celery over one broker connection. With the broker down they stay
    pending in the database, and `send_due_webhooks` queues them later."""
    from .tasks import send_webhook

    queued = 0
    try:
        with send_webhook.app.producer_or_acquire() as producer:
            for delivery_id in delivery_ids:
                send_webhook.apply_async((delivery_id,), countdown=countdown, producer=producer)
                queued += 1
    except OperationalError:
        logger.warning(
            "Broker unreachable; %d webhook deliveries stay pending in the database",
            len(delivery_ids) - queued,
        )
    return queued


def webhook_headers(*, delivery: WebhookDelivery, secret: str, now: datetime.datetime) -> dict:
    """The Standard Webhooks headers of one attempt: the same id on every attempt, the
    attempt's own timestamp, and the signature of id.timestamp.body under the secret."""
    utc_now = now.astimezone(datetime.UTC)
    return {
        "content-type": "application/json",
        "user-agent": "otpdelivery-webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(utc_now.timestamp())),
        "webhook-signature": Webhook(secret).sign(
            msg_id=delivery.message_id, timestamp=utc_now, data=delivery.body
        ),
    }


def in_flight_lease() -> datetime.timedelta:
    """How long a worker holds a delivery it is sending before another may send it again.

    Far longer than a call can last (network.post ends every call after
    WEBHOOK_TIMEOUT_SECONDS, and resolving the host comes before it), so two workers never
    send the same attempt; a worker that dies mid-call leaves the delivery to the next
    `send_due_webhooks` once its lease has passed."""
    return max(
        datetime.timedelta(minutes=5),
        datetime.timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 60),
    )


def _not_in_flight(now: datetime.datetime) -> Q:
    return Q(in_flight_until__isnull=True) | Q(in_flight_until__lte=now)


@transaction.atomic
def _claim(*, delivery_id: int, now: datetime.datetime) -> tuple[WebhookDelivery, dict] | None:
    """Take a pending, due delivery that no worker is sending: mark it in flight until the
    lease ends and sign its attempt. One short transaction; None when there is nothing to
    do. The row is locked only for this (skip_locked: a worker claiming it at the same
    moment has it), and once committed, the lease keeps every other worker off it."""
    delivery = (
        WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint")
        .filter(
            _not_in_flight(now),
            pk=delivery_id,
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__deleted_at__isnull=True,
        )
        .first()
    )
    if delivery is None:
        return None
    if not delivery.body:
        webhook_bodies_write(delivery_ids=[delivery.pk])
        delivery.refresh_from_db(fields=["body"])
    headers = webhook_headers(
        delivery=delivery, secret=webhook_endpoint_secret(delivery.endpoint), now=now
    )
    delivery.in_flight_until = now + in_flight_lease()
    delivery.save(update_fields=["in_flight_until"])
    return delivery, headers


@transaction.atomic
def _record_attempt(
    *,
    delivery: WebhookDelivery,
    now: datetime.datetime,
    duration_ms: int,
    status_code: int | None,
    error: str,
) -> bool:
    """Write what one attempt got back and when the next is due, in one short transaction.

    The attempt is always recorded (it was made); the delivery only while this worker's
    lease is still the one on it, so a worker that comes back after its lease ran out
    cannot overwrite the outcome of the worker that took over."""
    WebhookAttempt.objects.create(
        delivery=delivery,
        started_at=now,
        duration_ms=duration_ms,
        status_code=status_code,
        error=error,
    )
    attempts = delivery.attempts + 1
    succeeded = status_code is not None and 200 <= status_code < 300
    changes = {"attempts": attempts, "last_status_code": status_code, "in_flight_until": None}
    retry_in = None
    if succeeded:
        changes |= {"status": WebhookDelivery.Status.SUCCEEDED, "delivered_at": now}
        changes["next_attempt_at"] = None
    elif attempts >= MAX_ATTEMPTS:
        changes |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        retry_in = RETRY_DELAYS[attempts - 1]
        changes["next_attempt_at"] = now + retry_in
    still_ours = WebhookDelivery.objects.filter(
        pk=delivery.pk, in_flight_until=delivery.in_flight_until
    ).update(**changes)
    if not still_ours:
        logger.warning(
            "Webhook %s to endpoint %s: attempt recorded, but its lease had run out",
            delivery.message_id,
            delivery.endpoint_id,
        )
        return succeeded
    if retry_in is not None and retry_in <= COUNTDOWN_LIMIT:
        transaction.on_commit(
            partial(
                webhook_deliveries_queue,
                delivery_ids=[delivery.pk],
                countdown=retry_in.total_seconds(),
            )
        )
    logger.info(
        "Webhook %s %s to endpoint %s: attempt %d, %s",
        delivery.event_type,
        delivery.message_id,
        delivery.endpoint_id,
        attempts,
        status_code or error,
    )
    return succeeded


def webhook_delivery_send(*, delivery_id: int) -> bool | None:
    """Make one attempt at a pending delivery that is due. True: delivered; False: failed
    (a retry is scheduled, or the delivery is given up after the last); None: nothing to do
    (already delivered, given up, not yet due, or being sent by another worker).

    No transaction is open, and so no row locked, while the retailer's server answers:
    the delivery is claimed in one short transaction, the POST made outside any, and the
    outcome recorded in another."""
    now = timezone.now()
    claimed = _claim(delivery_id=delivery_id, now=now)
    if claimed is None:
        return None
    delivery, headers = claimed
    status_code, error = None, ""
    started = time.monotonic()
    try:
        target = network.resolve_target(delivery.endpoint.url)
        status_code = network.post(
            target,
            body=delivery.body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
    except network.UnsafeWebhookUrl as refusal:
        error = str(refusal)
    except (OSError, http.client.HTTPException) as failure:
        error = f"{type(failure).__name__}: {failure}"[:300]
    return _record_attempt(
        delivery=delivery,
        now=now,
        duration_ms=int((time.monotonic() - started) * 1000),
        status_code=status_code,
        error=error,
    )


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Operations send a delivery again (delivered, failed or pending): the same webhook-id
    and body, one more attempt now, and the usual retries if it fails."""
    WebhookDelivery.objects.filter(pk=delivery.pk, endpoint__deleted_at__isnull=True).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=timezone.now(),
        attempts=0,
    )
    transaction.on_commit(partial(webhook_deliveries_queue, delivery_ids=[delivery.pk]))
    delivery.refresh_from_db()
    return delivery


def due_webhook_delivery_ids(*, now: datetime.datetime, limit: int = 1000) -> list[int]:
    """Pending deliveries whose next attempt is due and that no worker is sending (or whose
    worker's lease ran out: it died mid-call)."""
    return list(
        WebhookDelivery.objects.filter(
            _not_in_flight(now), status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
