"""Request headers from proxies and strangers (issue 11, item 1): a bad header never fails a
request. The client address behind a proxy is cleaned up (port, brackets) or falls back to
the connecting address; every header the product reads is tried with bad values."""

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from codes.models import CodeEntry
from orders.models import Shipment
from otpdelivery.http import client_ip, parse_ip
from tests.conftest import plain_code
from tests.factories import CourierFactory, UserFactory

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"

# What load balancers and proxies really send, and what the address recorded must be.
FORWARDED_SHAPES = [
    ("203.0.113.7:51234", "203.0.113.7"),
    ("[2001:db8::7]:443", "2001:db8::7"),
    ("unknown", PROXY),
]


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


# --- The helper ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        *FORWARDED_SHAPES,
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:db8::7", "2001:db8::7"),
        ("[2001:db8::7]", "2001:db8::7"),
        ('"[2001:db8::7]:443"', "2001:db8::7"),
        ("2001:DB8:0:0:0:0:0:7", "2001:db8::7"),
        ("fe80::1%eth0", "fe80::1"),
        ("6.6.6.6, 203.0.113.7:51234", "203.0.113.7"),
        ("", PROXY),
        (",,,", PROXY),
        ("garbage", PROXY),
        ("203.0.113.7:port", PROXY),
        ("203.0.113.256", PROXY),
        ("[2001:db8::7", PROXY),
        ("[2001:db8::7]x", PROXY),
        ("[2001:db8::7]:", PROXY),
        ("1" * 5000, PROXY),
        ("٢٠٣.٠.١١٣.٧", PROXY),
        ("203.0.113.7\x00", PROXY),
        ("_hidden", PROXY),
    ],
)
def test_forwarded_address_is_cleaned_up_or_falls_back(behind_one_proxy, forwarded, expected):
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


@pytest.mark.parametrize("remote_addr", ["", "unix:/run/gunicorn.sock", "garbage", None])
def test_no_usable_address_at_all_is_none(behind_one_proxy, remote_addr):
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="unknown")
    request.META["REMOTE_ADDR"] = remote_addr

    assert client_ip(request) is None


def test_connecting_address_with_a_port_is_cleaned_up_too(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.5:40000")

    assert client_ip(request) == "192.0.2.5"


@pytest.mark.parametrize("text", [None, "", " ", "localhost", "1.2.3", "::ffff:1.2.3.4.5"])
def test_parse_ip_answers_none_for_what_is_not_an_address(text):
    assert parse_ip(text) is None


# --- Over HTTP on PostgreSQL: code entry, counter release, sign-in --------------------------


@pytest.mark.parametrize(("forwarded", "recorded"), FORWARDED_SHAPES)
def test_right_code_at_the_door_behind_a_proxy_delivers(
    postgresql_only, behind_one_proxy, client, courier, out_for_delivery, forwarded, recorded
):
    client.force_login(courier.user)

    response = client.post(
        reverse("courier_stop", args=[out_for_delivery.tracking_number]),
        {"code": plain_code(out_for_delivery)},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )

    out_for_delivery.refresh_from_db()
    assert response.status_code in (200, 302)
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert CodeEntry.objects.get().client_ip == recorded


@pytest.mark.parametrize(("forwarded", "recorded"), FORWARDED_SHAPES)
def test_counter_release_behind_a_proxy_releases(
    postgresql_only,
    behind_one_proxy,
    client,
    operator,
    pickup_point,
    at_pickup_point,
    forwarded,
    recorded,
):
    client.force_login(operator)

    response = client.post(
        reverse("pickup_point", args=[pickup_point.pk]),
        {"code": plain_code(at_pickup_point)},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )

    at_pickup_point.refresh_from_db()
    assert response.status_code in (200, 302)
    assert at_pickup_point.status == Shipment.Status.DELIVERED
    assert CodeEntry.objects.get().client_ip == recorded


@pytest.mark.parametrize(("forwarded", "recorded"), FORWARDED_SHAPES)
def test_wrong_password_behind_a_proxy_is_counted_not_a_server_error(
    postgresql_only, behind_one_proxy, client, forwarded, recorded
):
    CourierFactory(user=UserFactory(username="marco"))

    response = client.post(
        reverse("login"),
        {"username": "marco", "password": "not-the-password"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )

    assert response.status_code == 200
    attempt = AccessAttempt.objects.get()
    assert (attempt.username, attempt.failures_since_start, attempt.ip_address) == (
        "marco",
        1,
        recorded,
    )


# --- Every header the product reads, with bad values -----------------------------------------

BAD_VALUES = [
    "",
    " ",
    "unknown",
    "garbage",
    ",",
    ", , ,",
    "203.0.113.7:51234",
    "[2001:db8::7]:443",
    "[2001:db8::7",
    "]:443",
    "::::::",
    "999.999.999.999",
    "1.2.3.4, unknown",
    "unknown, 1.2.3.4",
    "\x00",
    "a\x00b",
    "\t\t",
    "é",
    "日本語",
    "\u202e",
    "%00",
    "%ZZ",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    '"',
    ";",
    "=",
    "a=b; c",
    "*" * 8000,
    "1" * 8000,
    "q=0.5",
    "en;q=abc",
    "it-IT;q=1.5, *;q=-1",
    "zz-ZZ",
    "i-klingon",
    "en-" + "x" * 300,
    "null",
    "https://evil.example/",
    "//evil.example",
    "javascript:alert(1)",
]

# Headers the product (or Django and django-axes on its behalf) reads.
HEADERS = [
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_ACCEPT_LANGUAGE",
    "HTTP_REFERER",
    "HTTP_USER_AGENT",
    "HTTP_ACCEPT",
    "HTTP_ORIGIN",
    "HTTP_COOKIE",
    "REMOTE_ADDR",
]


def _as_wsgi(value: str) -> str:
    """A header as a WSGI server hands it over: the bytes received, read as latin-1."""
    return value.encode().decode("latin-1")


def _requests(courier_shipment, pickup_point):
    """(method, url, data, who): sign-in, code entry at the door and counter, tracking."""
    return [
        ("post", reverse("login"), {"username": "marco", "password": "wrong"}, None),
        (
            "post",
            reverse("courier_stop", args=[courier_shipment.tracking_number]),
            {"code": "135792"},
            "courier",
        ),
        ("post", reverse("pickup_point", args=[pickup_point.pk]), {"code": "135792"}, "operator"),
        ("get", reverse("track", args=[courier_shipment.tracking_number]), None, "customer"),
    ]


def test_bad_header_values_never_cause_a_server_error(
    settings, courier, customer, operator, pickup_point, out_for_delivery
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    clients = {None: Client(raise_request_exception=False)}
    for who, user in {"courier": courier.user, "customer": customer, "operator": operator}.items():
        clients[who] = Client(raise_request_exception=False)
        clients[who].force_login(user)
    requests = _requests(out_for_delivery, pickup_point)
    failures = []

    # Each header with each value, spread over the pages in turn so that every page sees
    # every header many times (all at once would be thousands of requests).
    for h, header in enumerate(HEADERS):
        for v, value in enumerate(BAD_VALUES):
            method, url, data, who = requests[(h + v) % len(requests)]
            response = getattr(clients[who], method)(url, data, **{header: _as_wsgi(value)})
            if response.status_code >= 500:
                failures.append((method, url, header, value[:40], response.status_code))

    assert failures == []


@pytest.mark.parametrize("host", BAD_VALUES)
def test_bad_host_header_is_a_client_error(client, host):
    client.raise_request_exception = False

    response = client.get(reverse("login"), HTTP_HOST=_as_wsgi(host))

    assert response.status_code < 500


# --- Other values from the request: the position the courier's browser shares ---------------


@pytest.mark.parametrize(
    ("latitude", "longitude"),
    [
        ("NaN", "12.5"),
        ("41.9", "Infinity"),
        ("91", "12.5"),
        ("41.9", "-180.5"),
        ("1e400", "12.5"),
        ("forty-one", "12.5"),
        ("41.9\x00", "12.5"),
        ("4" * 100, "12.5"),
    ],
)
def test_unusable_shared_position_is_dropped_and_the_code_still_delivers(
    client, courier, out_for_delivery, latitude, longitude
):
    client.force_login(courier.user)

    client.post(
        reverse("courier_stop", args=[out_for_delivery.tracking_number]),
        {"code": plain_code(out_for_delivery), "latitude": latitude, "longitude": longitude},
    )

    out_for_delivery.refresh_from_db()
    entry = CodeEntry.objects.get()
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert (entry.latitude, entry.longitude) == (None, None)


def test_shared_position_is_recorded_rounded_to_the_stored_precision(
    client, courier, out_for_delivery
):
    client.force_login(courier.user)

    client.post(
        reverse("courier_stop", args=[out_for_delivery.tracking_number]),
        {"code": plain_code(out_for_delivery), "latitude": "41.90278349", "longitude": "12.4963"},
    )

    entry = CodeEntry.objects.get()
    assert (str(entry.latitude), str(entry.longitude)) == ("41.902783", "12.496300")
