"""Small helpers for views."""

from django.conf import settings


def client_ip(request) -> str | None:
    """The address the request came from, as the web server or the trusted proxy saw it.

    Behind DJANGO_TRUSTED_PROXY_COUNT proxies, each appends the address it received the
    request from to X-Forwarded-For; only those last entries can be trusted, whatever a
    client puts at the start of the header.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        ]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None
