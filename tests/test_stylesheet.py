"""The site stylesheet inline on the courier's first compressed page, linked after it
(otpdelivery.stylesheet), and allowed by the response's CSP nonce alone."""

import gzip
import json
import re
from unittest import mock

import pytest
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.storage import Storage
from django.urls import reverse

from otpdelivery import stylesheet
from otpdelivery.stylesheet import COOKIE_NAME, stylesheet_text, stylesheet_version
from tests.conftest import plain_code

pytestmark = pytest.mark.django_db

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
INLINE_STYLE = re.compile(r'<style nonce="([^"]+)">(.*?)</style>', re.S)
LINKED = re.compile(r'<link rel="stylesheet" href="/static/css/site(\.[0-9a-f]{12})?\.css">')
PREFETCH = re.compile(r'<link rel="prefetch" href="(/static/css/[^"]+)" as="style">')


def html(response) -> str:
    content = response.content
    if response.headers.get("Content-Encoding") == "gzip":
        content = gzip.decompress(content)
    return content.decode()


def policy_nonces(response, directive: str) -> list[str]:
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        if name == directive:
            return [value[len("'nonce-") : -1] for value in values if value.startswith("'nonce-")]
    return []


@pytest.fixture
def courier_pages(out_for_delivery):
    return {
        "today": reverse("courier_today"),
        "stop": reverse("courier_stop", args=[out_for_delivery.tracking_number]),
    }


@pytest.mark.parametrize("page", ["today", "stop"])
def test_first_courier_page_carries_the_stylesheet_inline_and_sets_the_cookie(
    courier_client, courier_pages, page
):
    response = courier_client.get(courier_pages[page], **GZIP)

    content = html(response)
    assert response.headers["Content-Encoding"] == "gzip"
    assert INLINE_STYLE.search(content).group(2) == stylesheet_text()
    assert not LINKED.search(content)
    assert PREFETCH.search(content).group(1) == "/static/css/site.css"
    assert response.cookies[COOKIE_NAME].value == stylesheet_version()


@pytest.mark.parametrize("page", ["today", "stop"])
def test_with_the_cookie_the_courier_page_links_the_stylesheet(courier_client, courier_pages, page):
    courier_client.cookies[COOKIE_NAME] = stylesheet_version()

    response = courier_client.get(courier_pages[page], **GZIP)

    content = html(response)
    assert LINKED.search(content)
    assert "<style" not in content
    assert not PREFETCH.search(content)
    assert COOKIE_NAME not in response.cookies
    assert policy_nonces(response, "style-src") == []


def test_second_page_of_the_same_browser_links_the_stylesheet(courier_client, courier_pages):
    # Given the first page, which inlined it (the test client keeps its cookies)
    courier_client.get(courier_pages["today"], **GZIP)

    # When the courier opens a stop
    response = courier_client.get(courier_pages["stop"], **GZIP)

    # Then the stylesheet is linked: the browser has it in its cache
    assert LINKED.search(html(response))


@pytest.mark.parametrize("value", ["site.0123456789ab.css", "", "1", "<style>"])
def test_cookie_for_another_version_of_the_stylesheet_gets_it_inline_again(
    courier_client, courier_pages, value
):
    courier_client.cookies[COOKIE_NAME] = value

    response = courier_client.get(courier_pages["stop"], **GZIP)

    assert INLINE_STYLE.search(html(response))
    assert response.cookies[COOKIE_NAME].value == stylesheet_version()


def test_inline_style_carries_the_nonce_of_the_responses_policy(courier_client, courier_pages):
    response = courier_client.get(courier_pages["stop"], **GZIP)

    (nonce,) = policy_nonces(response, "style-src")
    assert INLINE_STYLE.search(html(response)).group(1) == nonce
    assert len(nonce) >= 22
    # Styles only: inline scripts stay refused, nonce or not.
    assert policy_nonces(response, "script-src") == []
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_each_response_has_a_nonce_of_its_own(client, courier, courier_pages):
    nonces = set()
    for _ in range(3):
        client.cookies.clear()
        client.force_login(courier.user)
        nonces.add(INLINE_STYLE.search(html(client.get(courier_pages["stop"], **GZIP))).group(1))

    assert len(nonces) == 3


def test_inlining_page_is_never_stored_by_a_cache(courier_client, courier_pages):
    # A cached copy would replay a nonce that the next response's policy no longer holds.
    response = courier_client.get(courier_pages["stop"], **GZIP)

    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize("secure", [True, False])
def test_cookie_is_http_only_same_site_lax_and_as_secure_as_the_session(
    settings, courier_client, courier_pages, secure
):
    settings.SESSION_COOKIE_SECURE = secure

    cookie = courier_client.get(courier_pages["stop"], **GZIP).cookies[COOKIE_NAME]

    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is secure
    assert cookie["path"] == "/"
    assert int(cookie["max-age"]) == stylesheet.COOKIE_MAX_AGE


def test_browser_that_does_not_accept_gzip_gets_the_link(courier_client, courier_pages):
    # The page goes uncompressed: inline, the stylesheet would cost its full 16.8 KB.
    response = courier_client.get(courier_pages["stop"])

    assert "Content-Encoding" not in response.headers
    assert LINKED.search(html(response))
    assert "<style" not in html(response)
    assert COOKIE_NAME not in response.cookies


def test_confirmation_after_a_right_code_links_the_stylesheet(
    courier_client, courier_pages, out_for_delivery
):
    courier_client.get(courier_pages["stop"], **GZIP)

    response = courier_client.post(
        courier_pages["stop"], {"code": plain_code(out_for_delivery)}, **GZIP
    )

    content = html(response)
    assert 'id="outcome-title"' in content
    assert LINKED.search(content)


@pytest.fixture
def other_pages(customer, ops, operator, pickup_point, out_for_delivery, at_pickup_point):
    return [
        (None, reverse("login")),
        (None, "/no-such-page/"),
        (customer, reverse("order_list")),
        (customer, reverse("track", args=[out_for_delivery.tracking_number])),
        (customer, reverse("track", args=[at_pickup_point.tracking_number])),
        (operator, reverse("pickup_point", args=[pickup_point.pk])),
        (ops, reverse("admin:index")),
        (ops, reverse("admin:orders_shipment_change", args=[out_for_delivery.pk])),
    ]


def test_pages_other_than_the_couriers_never_inline_the_stylesheet(client, other_pages):
    for user, url in other_pages:
        client.cookies.clear()
        if user is not None:
            client.force_login(user)

        response = client.get(url, **GZIP)

        content = html(response)
        assert "<style" not in content, url
        assert not PREFETCH.search(content), url
        assert COOKIE_NAME not in response.cookies, url


def test_site_pages_other_than_the_couriers_link_the_stylesheet(client, customer):
    client.force_login(customer)

    response = client.get(reverse("order_list"), **GZIP)

    assert LINKED.search(html(response))
    assert policy_nonces(response, "style-src") == []


def test_tracking_page_is_still_never_compressed(client, customer, out_for_delivery):
    client.force_login(customer)

    response = client.get(reverse("track", args=[out_for_delivery.tracking_number]), **GZIP)

    assert "Content-Encoding" not in response.headers


# --- The text put in the page ----------------------------------------------------------------


def test_site_stylesheet_can_be_put_in_a_page_as_it_is():
    # Inline, a relative url() or @import would resolve against the page's address instead
    # of the stylesheet's, and "</style" would end the element early.
    text = stylesheet_text()

    assert text
    assert not re.search(r"url\(\s*['\"]?(?!data:|/|https?:)", text)
    assert "@import" not in text
    assert "</style" not in text.lower()


@pytest.fixture
def collected(settings, tmp_path):
    """A collected copy under the manifest storage, different from the file in static/ as
    the storage's rewriting of url() references makes it."""
    hashed = "css/site.0123456789ab.css"
    (tmp_path / "css").mkdir()
    (tmp_path / hashed).write_text(".collected{color:#123456}\n", encoding="utf-8")
    (tmp_path / "staticfiles.json").write_text(
        json.dumps(
            {
                "version": "1.1",
                "paths": {
                    "css/site.css": hashed,
                    "img/favicon.svg": "img/favicon.0123456789ab.svg",
                    "js/position.js": "js/position.0123456789ab.js",
                },
            }
        ),
        encoding="utf-8",
    )
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    stylesheet._collected_text.cache_clear()
    yield tmp_path / hashed
    stylesheet._collected_text.cache_clear()


def test_inline_text_is_the_collected_file_as_served(courier_client, courier_pages, collected):
    response = courier_client.get(courier_pages["stop"], **GZIP)

    content = html(response)
    assert INLINE_STYLE.search(content).group(2) == ".collected{color:#123456}\n"
    assert PREFETCH.search(content).group(1) == "/static/css/site.0123456789ab.css"
    assert response.cookies[COOKIE_NAME].value == "site.0123456789ab.css"


def test_collected_file_is_read_once_per_process(client, courier, courier_pages, collected):
    with mock.patch.object(
        ManifestStaticFilesStorage, "open", autospec=True, side_effect=Storage.open
    ) as opened:
        for _ in range(3):
            client.cookies.clear()
            client.force_login(courier.user)
            assert INLINE_STYLE.search(html(client.get(courier_pages["stop"], **GZIP)))

    names = [call.args[1] for call in opened.call_args_list]
    assert names.count("css/site.0123456789ab.css") == 1


def test_stylesheet_holding_a_closing_style_tag_is_linked_not_inlined(
    courier_client, courier_pages, collected
):
    collected.write_text('a::after{content:"</style><script>"}\n', encoding="utf-8")

    response = courier_client.get(courier_pages["stop"], **GZIP)

    content = html(response)
    assert "<style" not in content
    assert '<link rel="stylesheet" href="/static/css/site.0123456789ab.css">' in content
    assert COOKIE_NAME not in response.cookies


@pytest.mark.parametrize(
    "rule",
    [
        '.badge{background:url("../img/badge.0123456789ab.svg")}',
        ".badge{background:url(img/badge.svg)}",
        '@import "print.css";',
    ],
)
def test_stylesheet_referring_to_files_relatively_is_linked_not_inlined(
    rule, courier_client, courier_pages, collected
):
    # Inline, the reference would resolve against the page's address and miss the file
    collected.write_text(rule + "\n", encoding="utf-8")

    response = courier_client.get(courier_pages["stop"], **GZIP)

    content = html(response)
    assert "<style" not in content
    assert '<link rel="stylesheet" href="/static/css/site.0123456789ab.css">' in content
    assert COOKIE_NAME not in response.cookies
