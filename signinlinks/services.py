"""Sign-in links asked for on the sign-in page: rate-limited, and the same answer whether
or not the address belongs to anyone."""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from .tasks import send_signin_link_email

User = get_user_model()


def _under_limit(key: str, limit: int) -> bool:
    """Counted in the shared cache (database or Redis), never in a process's memory."""
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=3600)
        return True


def signin_link_request(*, email: str, client_ip: str | None) -> bool:
    """Email a sign-in link to Your orders to the account with this address, if there is
    one and the hourly limits (per address, per client address) allow. Returns whether an
    email was queued; the caller answers the same either way."""
    email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    if not _under_limit(f"signin-link:email:{email_key}", settings.SIGNIN_LINK_MAX_PER_HOUR):
        return False
    if client_ip and not _under_limit(
        f"signin-link:ip:{client_ip}", settings.SIGNIN_LINK_MAX_PER_HOUR_PER_ADDRESS
    ):
        return False
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).order_by("pk").first()
    if user is None:
        return False
    send_signin_link_email.delay(user.pk)
    return True
