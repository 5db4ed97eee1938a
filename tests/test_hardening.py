"""Deployment hardening: check --deploy with production settings, CSP on every page,
sign-in throttling per username, and the client address behind a proxy."""

import datetime
import gzip
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.test import RequestFactory
from django.urls import reverse

from alerts.models import Alert
from otpdelivery.http import client_ip
from otpdelivery.stylesheet import stylesheet_text
from tests.factories import CourierFactory, UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent


def production_environment() -> dict:
    """What an operator sets in production, per .env.example and SECURITY.md.

    Nothing DJANGO_* is inherited: the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this
    process, which production never does (and check --deploy rightly flags).
    """
    inherited = {name: value for name, value in os.environ.items() if "DJANGO" not in name}
    return {
        **inherited,
        "DJANGO_DEBUG": "false",
        "DJANGO_HTTPS": "true",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "otp.example.com",
        "DJANGO_CSRF_TRUSTED_ORIGINS": "https://otp.example.com",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
        "DJANGO_TRUSTED_PROXY_COUNT": "1",
        "DJANGO_STATICFILES_STORAGE": "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "DELIVERY_CODE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DELIVERY_CODE_HASH_KEY": secrets.token_urlsafe(32),
        "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
    }


def test_check_deploy_with_production_settings_reports_nothing():
    result = subprocess.run(  # noqa: S603 - our own manage.py with a fixed argument list
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_production_settings_are_https_only():
    result = subprocess.run(  # noqa: S603 - our own manage.py with a fixed argument list
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
            "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
            "s.SECURE_PROXY_SSL_HEADER, s.DEBUG)",
        ],
        cwd=BASE_DIR,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.stdout.strip().splitlines()[-1] == (
        "True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https') False"
    )


# --- Content-Security-Policy ----------------------------------------------------------------


@pytest.fixture
def pages(out_for_delivery, courier, customer, ops, operator, at_pickup_point, pickup_point):
    """One of each kind of page, with the person who may see it (None: anyone)."""
    stop = reverse("courier_stop", args=[out_for_delivery.tracking_number])
    track = reverse("track", args=[out_for_delivery.tracking_number])
    return [
        (None, reverse("login")),
        (None, reverse("healthz")),
        (None, "/no-such-page/"),
        (customer, reverse("order_list")),
        (customer, track),
        (courier.user, reverse("courier_today")),
        (courier.user, stop),
        (ops, reverse("admin:index")),
        (ops, reverse("admin:orders_shipment_changelist")),
        (ops, reverse("admin:orders_shipment_change", args=[out_for_delivery.pk])),
        (ops, reverse("admin:codes_codeentry_changelist")),
        (ops, reverse("admin:codes_entryblock_changelist")),
        (ops, reverse("admin:orders_shipment_hand_over", args=[out_for_delivery.pk])),
        (operator, reverse("pickup_point", args=[pickup_point.pk])),
        (customer, reverse("track", args=[at_pickup_point.tracking_number])),
    ]


def test_every_page_sends_the_strict_content_security_policy(client, pages):
    for user, url in pages:
        if user is None:
            client.logout()
        else:
            client.force_login(user)

        response = client.get(url)

        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in policy, url
        assert "script-src 'self'" in policy, url
        assert "style-src 'self'" in policy, url
        assert "frame-ancestors 'none'" in policy, url
        assert "unsafe-inline" not in policy, url


def test_redirects_and_sign_in_page_also_carry_the_policy(client, out_for_delivery):
    response = client.get(reverse("order_list"))

    assert response.status_code == 302
    assert "Content-Security-Policy" in response.headers


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I), "inline script"),
    (re.compile(r"<style\b", re.I), "style element"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]
# The one exception (SECURITY.md, row 15): the site stylesheet itself, inline on the
# courier's compressed pages, with the response's CSP nonce (otpdelivery.stylesheet).
NONCED_STYLESHEET_TEMPLATE = '<style nonce="{{ nonce }}">{{ inline }}</style>'
NONCED_STYLE = re.compile(r"<style nonce=\"([^\"]*)\">(.*?)</style>", re.S)


@pytest.mark.parametrize(
    "template", sorted((BASE_DIR / "templates").rglob("*.html")), ids=lambda p: p.name
)
def test_site_templates_hold_no_inline_script_or_style(template):
    text = template.read_text()
    if template == BASE_DIR / "templates" / "_partials" / "_stylesheet.html":
        assert text.count(NONCED_STYLESHEET_TEMPLATE) == 1
        text = text.replace(NONCED_STYLESHEET_TEMPLATE, "")

    for pattern, what in INLINE:
        assert not pattern.search(text), f"{template}: {what}"


def _style_nonce(response) -> str | None:
    for directive in response.headers["Content-Security-Policy"].split(";"):
        name, *values = directive.split()
        if name == "style-src":
            nonces = [value for value in values if value.startswith("'nonce-")]
            assert len(nonces) <= 1
            return nonces[0][len("'nonce-") : -1] if nonces else None
    return None


def inline_code(html: str, style_nonce: str | None) -> list[str]:
    """What the page holds inline besides the site stylesheet, once, with the nonce of the
    response's policy."""
    found = []
    styles = NONCED_STYLE.findall(html)
    html = NONCED_STYLE.sub("", html)
    if len(styles) > 1:
        found.append("more than one style element")
    for nonce, text in styles:
        if not style_nonce or nonce != style_nonce:
            found.append("style element without the response's nonce")
        if text != stylesheet_text():
            found.append("style element that is not the site stylesheet")
    found += [what for pattern, what in INLINE if pattern.search(html)]
    return found


def test_rendered_pages_hold_no_inline_script_or_style(client, pages):
    inlined = []
    for user, url in pages:
        # As a browser that accepts gzip and has never had the stylesheet: the courier's
        # compressed pages carry it inline.
        client.cookies.clear()
        if user is not None:
            client.force_login(user)
        response = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
        content = response.content
        if response.headers.get("Content-Encoding") == "gzip":
            content = gzip.decompress(content)
        html = content.decode()

        assert inline_code(html, _style_nonce(response)) == [], url
        if "<style" in html:
            inlined.append(url)

    courier_pages = [url for user, url in pages if url.startswith(reverse("courier_today"))]
    assert inlined == courier_pages


@pytest.fixture
def inlining_page(client, courier):
    client.force_login(courier.user)
    response = client.get(reverse("courier_today"), HTTP_ACCEPT_ENCODING="gzip")
    return gzip.decompress(response.content).decode(), _style_nonce(response)


@pytest.mark.parametrize(
    ("added", "caught"),
    [
        ("<style>body{}</style>", "style element"),
        ('<style nonce="guessed">body{}</style>', "style element without the response's nonce"),
        ('<style nonce="{nonce}">body{}</style>', "more than one style element"),
        ('<p style="color:red">', "style attribute"),
        ('<script nonce="{nonce}">alert(1)</script>', "inline script"),
    ],
)
def test_inline_code_besides_the_nonced_stylesheet_is_caught(inlining_page, added, caught):
    html, nonce = inlining_page
    forged = html.replace("</body>", added.replace("{nonce}", nonce) + "</body>")

    assert inline_code(html, nonce) == []
    assert caught in inline_code(forged, nonce)


def test_nonced_stylesheet_is_caught_when_the_policy_has_another_nonce(inlining_page):
    html, _ = inlining_page

    assert inline_code(html, "another") == ["style element without the response's nonce"]


def test_security_headers_are_sent(client):
    response = client.get(reverse("login"))

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- Sign-in throttling (django-axes) --------------------------------------------------------

DEPOT = "192.0.2.10"


def _sign_in(client, username, password, ip=DEPOT):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _fail(client, username, times, ip=DEPOT):
    for _ in range(times):
        _sign_in(client, username, "not-the-password", ip=ip)


@pytest.fixture
def marco(db):
    return CourierFactory(user=UserFactory(username="marco")).user


def test_fifth_wrong_password_locks_the_username_with_a_clear_message(client, marco):
    _fail(client, "marco", 4)

    response = _sign_in(client, "marco", "not-the-password")

    assert response.status_code == 429
    body = response.content.decode()
    assert "data-signin-locked-out" in body
    assert "Too many failed sign-ins for this username. Try again in 15 minutes" in body


def test_locked_username_is_refused_even_with_the_right_password(client, marco):
    _fail(client, "marco", 5)

    response = _sign_in(client, "marco", "test-pass-123")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_four_wrong_passwords_still_let_the_right_one_in(client, marco):
    _fail(client, "marco", 4)

    response = _sign_in(client, "marco", "test-pass-123")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(marco.pk)


def test_couriers_sharing_a_depot_network_are_not_locked_out_together(client, marco):
    colleague = CourierFactory(user=UserFactory(username="luca")).user
    _fail(client, "marco", 5)

    response = _sign_in(client, "luca", "test-pass-123")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(colleague.pk)


def test_marco_signs_in_from_his_own_address_while_another_address_is_locked(client, marco):
    _fail(client, "marco", 5, ip="203.0.113.66")
    assert _sign_in(client, "marco", "test-pass-123", ip="203.0.113.66").status_code == 429

    response = _sign_in(client, "marco", "test-pass-123", ip=DEPOT)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(marco.pk)


def test_the_backstop_refuses_the_username_everywhere_and_alerts_operations(
    client, marco, settings
):
    settings.SIGNIN_BACKSTOP_FAILURES = 20
    for address in range(4):
        _fail(client, "marco", 5, ip=f"203.0.113.{address + 1}")

    response = _sign_in(client, "marco", "test-pass-123", ip=DEPOT)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    alert = Alert.objects.get()
    assert (alert.kind, alert.person, alert.resolved_at) == (
        Alert.Kind.SIGNIN_BACKSTOP,
        marco,
        None,
    )


def test_below_the_backstop_other_addresses_lock_only_themselves(client, marco, settings):
    settings.SIGNIN_BACKSTOP_FAILURES = 21
    for address in range(4):
        _fail(client, "marco", 5, ip=f"203.0.113.{address + 1}")

    response = _sign_in(client, "marco", "test-pass-123", ip=DEPOT)

    assert response.status_code == 302
    assert not Alert.objects.exists()


def test_operations_unlock_a_person_at_once(client, marco, ops):
    _fail(client, "marco", 5)
    client.force_login(ops)

    client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [marco.pk]},
    )
    client.logout()

    assert _sign_in(client, "marco", "test-pass-123").status_code == 302


def test_lock_ends_after_the_cool_off(client, marco, time_machine, frozen_now):
    _fail(client, "marco", 5)
    time_machine.move_to(frozen_now + datetime.timedelta(minutes=16), tick=False)

    response = _sign_in(client, "marco", "test-pass-123")

    assert response.status_code == 302


def test_admin_sign_in_is_throttled_too(client, ops):
    for _ in range(5):
        client.post(
            reverse("admin:login"),
            {"username": "ops", "password": "wrong"},
            REMOTE_ADDR=DEPOT,
        )

    response = client.post(
        reverse("admin:login"),
        {"username": "ops", "password": "test-pass-123"},
        REMOTE_ADDR=DEPOT,
    )

    assert response.status_code == 429


def test_failure_limit_is_a_setting():
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


# --- Client address behind a proxy ------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.9", "10.0.0.1"),
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
        (1, "", "10.0.0.1"),
    ],
)
def test_client_address_trusts_only_the_proxies_in_front(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected
