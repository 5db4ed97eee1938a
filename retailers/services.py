"""Creating, using and revoking retailers' API keys."""

import datetime
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from .models import ApiKey, Retailer

# A key's last-used time is written at most this often, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
KEY_PREFIX = "odk_"


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(
    *, retailer: Retailer, name: str, raw_key: str | None = None
) -> tuple[ApiKey, str]:
    """A new key for the retailer: returns the stored key and the plain key, which is
    shown once and never stored. `raw_key` is for the demo data's fixed key only."""
    raw_key = raw_key or KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        retailer=retailer,
        name=name,
        prefix=raw_key[:8],
        key_hash=api_key_hash(raw_key),
        created_at=timezone.now(),
    )
    return api_key, raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, now: datetime.datetime | None = None) -> ApiKey:
    """From now on the key is refused. Revoking twice keeps the first time."""
    now = now or timezone.now()
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw_key: str, now: datetime.datetime | None = None) -> ApiKey | None:
    """The live key with this value, its last-used time brought up to date; None for an
    unknown or revoked key."""
    if not raw_key:
        return None
    api_key = (
        ApiKey.objects.select_related("retailer")
        .filter(key_hash=api_key_hash(raw_key), revoked_at__isnull=True)
        .first()
    )
    if api_key is None:
        return None
    now = now or timezone.now()
    if api_key.last_used_at is None or api_key.last_used_at <= now - LAST_USED_RESOLUTION:
        # A single conditional UPDATE: no lock, and concurrent requests write it once.
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


DEMO_RETAILER = "Demo Shop"


@transaction.atomic
def demo_retailer_ensure(*, raw_key: str) -> Retailer:
    """The demo data's retailer and its fixed key (`seed_demo` only; idempotent)."""
    retailer, _ = Retailer.objects.get_or_create(name=DEMO_RETAILER)
    if not ApiKey.objects.filter(key_hash=api_key_hash(raw_key)).exists():
        api_key_create(retailer=retailer, name="Demo key", raw_key=raw_key)
    return retailer
