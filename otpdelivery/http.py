"""Small helpers for views."""


def client_ip(request) -> str | None:
    """The address the request came from, as the web server saw it."""
    return request.META.get("REMOTE_ADDR") or None
