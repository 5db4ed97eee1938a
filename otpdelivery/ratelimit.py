"""Rate limits for actions that send an email or a webhook because someone asked.

Counted in the database (the `ratelimits` app), never in a process's memory, so every
web process shares one count; each count is taken under a row lock, so concurrent
requests never overshoot. Windows are fixed (aligned on the epoch): a request is allowed
while fewer than `limit` were allowed in the current window.

    from otpdelivery.ratelimit import Limit, ratelimit_take

    result = ratelimit_take(
        limits=[
            Limit("password_reset:recipient", email, 3, timedelta(hours=1)),
            Limit("password_reset:requester", client_ip(request), 10, timedelta(hours=1)),
        ]
    )
    if not result.allowed:
        ...  # tell the person to try again at result.retry_at; send nothing

A refused request is not counted: one limit's refusal does not use up the others.
"""

import datetime
import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ratelimits.models import RateLimitBucket

_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class Limit:
    scope: str
    key: str | None
    limit: int
    window: datetime.timedelta


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    # When the fullest refusing window ends; None when allowed.
    retry_at: datetime.datetime | None = None


def _digest(scope: str, key: str) -> str:
    # Keyed, so the table cannot be turned back into the addresses it counts.
    message = f"{scope}\n{key.strip().lower()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _window_start(now: datetime.datetime, window: datetime.timedelta) -> datetime.datetime:
    elapsed = (now - _EPOCH) // window
    return _EPOCH + elapsed * window


@transaction.atomic
def ratelimit_take(*, limits: list[Limit], now: datetime.datetime | None = None) -> RateLimitResult:
    """Count one request against every limit, or refuse it (counting nothing) if any
    limit's current window is full. Limits with no key (no client address known) are
    skipped."""
    now = now or timezone.now()
    # Rows are locked in one order (scope, key) so two requests never deadlock; the count
    # is read under the lock, so what concurrent requests committed is always in it.
    locked = []
    for limit in sorted((x for x in limits if x.key), key=lambda x: (x.scope, x.key)):
        bucket, _created = RateLimitBucket.objects.select_for_update().get_or_create(
            scope=limit.scope,
            key_digest=_digest(limit.scope, limit.key),
            window_start=_window_start(now, limit.window),
        )
        locked.append((limit, bucket))
    full = [
        bucket.window_start + limit.window for limit, bucket in locked if bucket.hits >= limit.limit
    ]
    if full:
        return RateLimitResult(allowed=False, retry_at=max(full))
    for limit, bucket in locked:
        RateLimitBucket.objects.filter(pk=bucket.pk).update(hits=F("hits") + 1)
        # Windows that have ended are of no more use.
        RateLimitBucket.objects.filter(
            scope=limit.scope, key_digest=bucket.key_digest, window_start__lt=bucket.window_start
        ).delete()
    return RateLimitResult(allowed=True)
