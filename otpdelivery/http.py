"""Reading values from a request defensively: a bad header never fails a request."""

import ipaddress

from django.conf import settings


def parse_ip(text: str | None) -> str | None:
    """`text` as a plain IP address (`203.0.113.7`, `2001:db8::7`), or None if it is not one.

    Proxies and load balancers write addresses in several shapes: with a port
    (`203.0.113.7:51234`), in brackets with or without a port (`[2001:db8::7]:443`), quoted
    (RFC 7239 style), with an IPv6 zone (`fe80::1%eth0`), or as `unknown`. The database's
    address column (PostgreSQL `inet`) accepts only the bare address, so that is what
    comes out; anything else is None rather than an error.
    """
    if not text:
        return None
    candidate = text.strip().strip('"').strip()
    if candidate.startswith("["):
        # "[2001:db8::7]" or "[2001:db8::7]:443"
        closing = candidate.find("]")
        if closing == -1:
            return None
        rest = candidate[closing + 1 :]
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return None
        candidate = candidate[1:closing]
    elif candidate.count(":") == 1:
        # "203.0.113.7:51234": an IPv4 address with a port (a bare IPv6 has 2+ colons)
        host, _, port = candidate.partition(":")
        if not port.isdigit():
            return None
        candidate = host
    candidate = candidate.split("%", 1)[0]  # an IPv6 zone means nothing off this host
    if not candidate.isascii() or len(candidate) > 45:
        return None
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address the request came from, as the web server or the trusted proxy saw it.

    Behind DJANGO_TRUSTED_PROXY_COUNT proxies, each appends the address it received the
    request from to X-Forwarded-For; only those last entries can be trusted, whatever a
    client puts at the start of the header. An entry there that is not an address (with a
    port, in brackets, `unknown`, garbage) is cleaned up or, failing that, replaced by the
    connecting address; None when neither is an address. Never raises.
    """
    meta = getattr(request, "META", None) or {}
    connecting = parse_ip(_text(meta.get("REMOTE_ADDR")))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in _text(meta.get("HTTP_X_FORWARDED_FOR")).split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return parse_ip(forwarded[-proxies]) or connecting
    return connecting


def _text(value) -> str:
    return value if isinstance(value, str) else ""


class HeaderNullBytesMiddleware:
    """Drop NUL characters from request headers before anything reads them.

    No HTTP header may contain one (RFC 9110), but a server in front may pass it on, and
    django-axes stores the User-Agent and Accept headers of a failed sign-in as they come:
    PostgreSQL refuses a NUL in text, which turned a wrong password into a server error.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, value in request.META.items():
            if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                request.META[name] = value.replace("\x00", "")
        return self.get_response(request)
