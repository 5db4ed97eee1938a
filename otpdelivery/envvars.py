"""Reading list and structured settings from the environment: each value trimmed, checked at
start-up, and refused with an error naming the variable when it cannot work.

django-environ splits lists on commas but keeps the spaces around items (`"a, b"` gives
`" b"`, which then matches no host) and reads any word it does not know as false; a
setting that silently does nothing is worse than one that stops the start.
"""

import os
import re
import warnings
import zoneinfo
from decimal import Decimal, InvalidOperation
from email.utils import parseaddr
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email

_UNSET = object()

# A host name as Django's ALLOWED_HOSTS takes it: "*", ".example.com" (and subdomains),
# "example.com", an IPv4 address or a bracketed IPv6 address; no scheme, port or path.
_HOST = re.compile(
    r"\*|\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|\[[0-9A-Fa-f:.]+\]"
)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def _fail(name: str, problem: str):
    raise ImproperlyConfigured(f"{name}: {problem}")


def text(name: str, *, default=_UNSET) -> str:
    """A plain value, trimmed; required when there is no default."""
    value = _raw(name)
    if value:
        return value
    if default is _UNSET:
        _fail(name, "is required and not set")
    return default


def items(name: str, *, default: list) -> list[str]:
    """A comma-separated list: items trimmed, empty items (a stray comma) left out."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def boolean(name: str, *, default: bool) -> bool:
    value = _raw(name)
    if not value:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    _fail(name, f"{value!r} is not true or false (write true or false)")


def integer(name: str, *, default: int, minimum: int = 0) -> int:
    value = _raw(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        _fail(name, f"{value!r} is not a whole number")
    if number < minimum:
        _fail(name, f"{number} is less than {minimum}")
    return number


def decimal(name: str, *, default: str, minimum: Decimal = Decimal(0)) -> Decimal:
    value = _raw(name) or default
    try:
        number = Decimal(value)
    except InvalidOperation:
        _fail(name, f"{value!r} is not a number (write e.g. 300.00)")
    if not number.is_finite() or number < minimum:
        _fail(name, f"{value!r} is not a number of at least {minimum}")
    return number


def choice(name: str, *, default: str, choices: list[str], case_insensitive=False) -> str:
    value = _raw(name) or default
    if case_insensitive:
        value = value.upper()
    if value not in choices:
        _fail(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def hosts(name: str, *, default: list[str]) -> list[str]:
    """Host names for ALLOWED_HOSTS: no scheme, port or path, which would never match."""
    values = items(name, default=default)
    for host in values:
        if not _HOST.fullmatch(host):
            _fail(
                name,
                f"{host!r} is not a host name (write it like example.com or .example.com, "
                "without http://, port or path)",
            )
    return values


def origins(name: str, *, default: list[str]) -> list[str]:
    """Origins for CSRF_TRUSTED_ORIGINS: scheme and host, with an optional port, no path."""
    values = items(name, default=default)
    for origin in values:
        parts = urlsplit(origin)
        host = (parts.netloc or "").removeprefix("*.")
        if (
            parts.scheme not in ("http", "https")
            or not host
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or not _HOST.fullmatch(host.rsplit(":", 1)[0] if "]" not in host else host)
        ):
            _fail(name, f"{origin!r} is not an origin (write it like https://example.com)")
    return [origin.rstrip("/") for origin in values]


def emails(name: str, *, default: list[str]) -> list[str]:
    """Email addresses, each either bare or as "Name <address>"."""
    values = items(name, default=default)
    for value in values:
        try:
            validate_email(parseaddr(value)[1])
        except ValidationError:
            _fail(name, f"{value!r} is not an email address")
    return values


def email_address(name: str, *, default: str) -> str:
    return emails(name, default=[default])[0] if _raw(name) else default


def weekdays(name: str, *, default: list[int]) -> list[int]:
    """ISO weekday numbers (1 = Monday … 7 = Sunday), at least one, each once."""
    values = items(name, default=[str(day) for day in default])
    days = []
    for value in values:
        if not value.isdigit() or not 1 <= int(value) <= 7:
            _fail(name, f"{value!r} is not an ISO weekday number (1 = Monday … 7 = Sunday)")
        if int(value) not in days:
            days.append(int(value))
    if not days:
        _fail(name, "names no weekday: parcels would never be delivered")
    return sorted(days)


def url(name: str, *, default: str) -> str:
    """An http(s) address with a host, without the trailing slash."""
    value = text(name, default=default)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        _fail(name, f"{value!r} is not an http or https address (write https://example.com)")
    return value.rstrip("/")


def time_zone(name: str, *, default: str) -> str:
    value = text(name, default=default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _fail(name, f"{value!r} is not a time zone name (write e.g. Europe/Rome)")
    return value


def header_name(name: str) -> str:
    """A request header as Django's META names it (HTTP_X_FORWARDED_PROTO), or empty."""
    value = _raw(name) or ""
    if value and not re.fullmatch(r"HTTP_[A-Z0-9_]+", value):
        _fail(
            name,
            f"{value!r} is not a header name as Django sees it "
            "(write X-Forwarded-Proto as HTTP_X_FORWARDED_PROTO)",
        )
    return value


def fernet_keys(name: str) -> list[str]:
    """Fernet keys, newest first; at least one, each one usable."""
    from cryptography.fernet import Fernet  # noqa: PLC0415 - only this setting needs it

    values = items(name, default=[])
    if not values:
        _fail(name, "is required: at least one Fernet key (see .env.example)")
    for position, key in enumerate(values, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            _fail(name, f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes)")
    return values


_DATABASE_ENGINES = ("django.db.backends.postgresql", "django.db.backends.sqlite3")


def database_url(name: str, *, default: str) -> dict:
    """A PostgreSQL or SQLite URL as Django's DATABASES entry. The value is never repeated
    in an error: it may hold a password."""
    value = text(name, default=default)
    with warnings.catch_warnings():
        # django-environ warns about an unknown engine with the whole parsed URL, password
        # included; the error below says what is wrong instead.
        warnings.simplefilter("ignore")
        try:
            config = environ.Env.db_url_config(value)
        except (ValueError, ImproperlyConfigured):
            config = {}
    if config.get("ENGINE") not in _DATABASE_ENGINES or not config.get("NAME"):
        _fail(
            name,
            "is not a PostgreSQL or SQLite URL (write postgres://user@host:5432/name or "
            "sqlite:///path/to/db.sqlite3)",
        )
    return config


def email_url(name: str, *, default: str) -> dict:
    """An email backend URL (consolemail://, smtp+tls://user:password@host:587, ...); like
    the database URL, never repeated in an error."""
    value = text(name, default=default)
    try:
        return environ.Env.email_url_config(value)
    except (ValueError, ImproperlyConfigured):
        _fail(
            name,
            "is not an email URL (write consolemail:// or smtp+tls://user:password@host:587)",
        )
