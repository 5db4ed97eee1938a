"""Outgoing webhook requests that cannot be turned against our own network.

A retailer chooses the URL, so it is checked twice: when it is registered, and again at
every send, after resolving the host, because a name's addresses can change between the two
(DNS rebinding). The request then goes to the very address that was checked, with the
host's name kept for the Host header and TLS. Redirects are never followed (http.client
does not follow them) and every call has a timeout, as a whole and for each socket operation.
"""

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

# What a receiver's answer may be read up to: it is only looked at for its status.
MAX_RESPONSE_BYTES = 64 * 1024


class UnsafeWebhookUrl(ValueError):
    """The URL is not https, or its host is (or resolves to) a non-public address."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _is_allowed_address(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if allow_private:
        return not ip.is_unspecified and not ip.is_multicast
    # is_global is False for private, loopback, link-local, shared (100.64/10), reserved
    # and documentation ranges alike; IPv4-mapped IPv6 addresses are judged as IPv4.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str, *, allow_private: bool | None = None) -> Target:
    """Check the URL and resolve its host to one allowed address, or raise UnsafeWebhookUrl."""
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeWebhookUrl(_("Enter a valid URL.")) from error
    allowed_schemes = {"https", "http"} if allow_private else {"https"}
    if parts.scheme not in allowed_schemes:
        raise UnsafeWebhookUrl(_("The URL must start with https://."))
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeWebhookUrl(_("The URL must name a host, without a user or password."))
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeWebhookUrl(_("The URL's host cannot be resolved.")) from error
    addresses = [info[4][0] for info in infos]
    # Every address must be allowed, not just one: the connection could go to any of them.
    if not addresses or not all(
        _is_allowed_address(address, allow_private=allow_private) for address in addresses
    ):
        raise UnsafeWebhookUrl(_("The URL must point to a public internet address."))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(
        scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=addresses[0]
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host's name, not the address.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST the body to the checked address and return the status code. A redirect is
    just its status code (3xx, a failure): it is never followed.

    Every socket operation has the timeout, and so has the whole call: a receiver that
    answers a byte at a time is cut off once it has passed (an OSError or HTTPException
    here), so no call outlives the lease its worker holds on the delivery."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    deadline = threading.Timer(timeout, _cut, args=(connection,))
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    finally:
        deadline.cancel()
        connection.close()
