"""Bad input from mistakes and attackers: hundreds of strings that are not a code, typed
into the code fields and put into addresses as tracking numbers. None may cause a server
error, none may count as a wrong code, and each gets a clear message."""

from urllib.parse import quote

import pytest
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse

from codes import tokens
from codes.models import CodeEntry, DeliveryCode, EntryBlock
from orders.models import Shipment

pytestmark = pytest.mark.django_db

# Digits of other scripts look like a code to a person, but are not six ASCII digits.
_ZEROS = {
    "arabic-indic": 0x0660,
    "extended arabic-indic": 0x06F0,
    "nko": 0x07C0,
    "devanagari": 0x0966,
    "bengali": 0x09E6,
    "gujarati": 0x0AE6,
    "tamil": 0x0BE6,
    "thai": 0x0E50,
    "lao": 0x0ED0,
    "tibetan": 0x0F20,
    "myanmar": 0x1040,
    "khmer": 0x17E0,
    "mongolian": 0x1810,
    "full-width": 0xFF10,
    "mathematical bold": 0x1D7CE,
    "mathematical monospace": 0x1D7F6,
}


def _in_script(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in digits)


def _bad_inputs() -> list[str]:
    inputs = []
    for zero in _ZEROS.values():
        inputs += [
            _in_script("123456", zero),
            _in_script("123", zero) + "456",  # one group in another script
            "12345" + _in_script("6", zero),  # a single foreign digit
            _in_script("123", zero) + " " + _in_script("456", zero),
        ]
    inputs += [
        "¹²³⁴⁵⁶",
        "₁₂₃₄₅₆",
        "①②③④⑤⑥",
        "ⅠⅡⅢⅣⅤⅥ",
        "一二三四五六",
        "1\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e34\ufe0f\u20e35\ufe0f\u20e36\ufe0f\u20e3",
    ]
    whitespace = [" ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\u2028", "\x0b"]
    inputs += ["", *whitespace, "".join(whitespace)]
    inputs += [f"{space}12345{space}" for space in whitespace]
    inputs += [f"123{space}4567" for space in whitespace]
    inputs += ["12\u200b3456", "\u200b123456", "123456\u200b", "\ufeff123456", "\u202e654321"]
    inputs += [f"12345{tail}" for tail in ["a", "O", "-", "?", "#", "*", ".", "!", "€", "ß"]]
    inputs += ["0" * n for n in (1, 2, 3, 4, 5, 7, 8, 12)]
    inputs += ["1", "12", "123", "1234", "12345", "1234567", "12345678", "0" * 7, "9" * 100]
    inputs += ["1" * 10_000, "1 " * 5_000, "١" * 10_000, "x" * 10_240]
    inputs += ["\x00", "\x00" * 6, "123\x00456", "123456\x00", "\x00123456", "12345\x006"]
    inputs += ["\x01\x02\x03\x04\x05\x06", "123\x7f456", "123\x1b[31m456"]
    inputs += [
        "' OR '1'='1",
        "123456' OR '1'='1",
        "' OR 1=1 --",
        "1; DROP TABLE codes_codeentry; --",
        "'; DELETE FROM orders_shipment; --",
        "' UNION SELECT code_hash FROM codes_deliverycode --",
        '" OR ""="',
        "%",
        "%%%%%%",
        "______",
        "\\",
        "123\\456",
        "1' AND SLEEP(5) --",
        "$where: '1 == 1'",
        "{'$gt': ''}",
    ]
    inputs += [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '"><svg onload=alert(1)>',
        "javascript:alert(1)",
        "&#49;&#50;&#51;&#52;&#53;&#54;",
        "&#x31;&#x32;&#x33;&#x34;&#x35;&#x36;",
        "<b>123456</b>",
        "123<br>456",
        "{{ code }}",
        "{% debug %}",
        "${7*7}",
        "{{7*7}}",
        "../../etc/passwd",
        "%00",
        "%31%32%33%34%35%36",
    ]
    inputs += ["😀", "🔢🔢🔢🔢🔢🔢", "👍🏽" * 6, "1️⃣", "🇮🇹123456", "123😀456", "💯💯💯"]
    inputs += [
        "abcdef",
        "12a456",
        "O12345",
        "l23456",
        "I23456",
        "123.456",
        "123,456",
        "123/456",
        "123_456",
        "123+456",
        "+12345",
        "123456.",
        "0x1E240",
        "1e5",
        "12 34 5",
        "-1234-",
        "123--45",
        "1\u0301 23456",
        "123456 123456",
        "one two three",
        "null",
        "None",
        "undefined",
        "true",
        "NaN",
        "-0",
        "123456" * 2,
    ]
    return inputs


BAD_INPUTS = _bad_inputs()
CLEAR_MESSAGES = (
    "A delivery code is exactly six digits",
    "This field is required.",
    "Null characters are not allowed.",
)


def test_the_list_is_long_and_every_entry_is_malformed():
    assert len(BAD_INPUTS) >= 200
    assert [raw for raw in BAD_INPUTS if tokens.normalize(raw) is not None] == []


def _post_each(client, url):
    problems = []
    for raw in BAD_INPUTS:
        response = client.post(url, {"code": raw})
        content = response.content.decode()
        if response.status_code >= 500:
            problems.append((raw[:20], response.status_code))
        elif not any(message in content for message in CLEAR_MESSAGES):
            problems.append((raw[:20], "no clear message"))
    return problems


def _nothing_counted(*shipments):
    for shipment in shipments:
        shipment.refresh_from_db()
        assert shipment.wrong_code_entries == 0
        assert not DeliveryCode.objects.filter(shipment=shipment, wrong_attempts__gt=0).exists()
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()
    assert not EntryBlock.objects.exists()


def test_bad_codes_at_the_door_are_never_counted_and_always_explained(
    client, courier, out_for_delivery
):
    client.force_login(courier.user)

    problems = _post_each(client, reverse("courier_stop", args=[out_for_delivery.tracking_number]))

    assert problems == []
    _nothing_counted(out_for_delivery)
    out_for_delivery.refresh_from_db()
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert CodeEntry.objects.filter(outcome=CodeEntry.Outcome.MALFORMED).count() > 150


def test_bad_codes_at_the_counter_are_never_counted_and_always_explained(
    client, operator, pickup_point, at_pickup_point
):
    client.force_login(operator)

    problems = _post_each(client, reverse("pickup_point", args=[pickup_point.pk]))

    assert problems == []
    _nothing_counted(at_pickup_point)
    at_pickup_point.refresh_from_db()
    assert at_pickup_point.status == Shipment.Status.AT_PICKUP_POINT


def _url_with(name, raw, *prefix):
    placeholder = "TRACKINGPLACEHOLDER"
    url = reverse(name, args=[*prefix, placeholder])
    return url.replace(placeholder, quote(raw, safe=""))


@pytest.mark.parametrize(
    ("role", "url_name"),
    [("customer", "track"), ("courier", "courier_stop"), ("operator", "pickup_released")],
)
def test_bad_tracking_numbers_in_addresses_are_a_plain_not_found(
    client, request, role, url_name, out_for_delivery, pickup_point
):
    person = request.getfixturevalue(role)
    client.force_login(getattr(person, "user", person))
    prefix = [pickup_point.pk] if url_name == "pickup_released" else []
    statuses = set()

    for raw in [*BAD_INPUTS, out_for_delivery.tracking_number.lower() + "'--"]:
        if not raw.strip() or "/" in raw:
            continue  # no such path: the URL resolver never reaches the view
        statuses.add(client.get(_url_with(url_name, raw, *prefix)).status_code)

    assert statuses == {404}


@pytest.mark.parametrize("raw", ["' OR '1'='1", "<script>", "x" * 10_000, "\x00", "١٢٣٤٥٦", "😀"])
def test_bad_tracking_numbers_at_the_counter_get_a_clear_message(
    client, operator, pickup_point, raw
):
    client.force_login(operator)

    response = client.post(
        reverse("pickup_receive", args=[pickup_point.pk]), {"tracking_number": raw}
    )

    assert response.status_code == 200
    assert (
        'class="errorlist' in response.content.decode() or "No parcel" in response.content.decode()
    )
    assert not Shipment.objects.filter(status=Shipment.Status.AT_PICKUP_POINT).exists()


# --- Bodies, headers and parameters the server cannot take (issue 15, item 5) -----------

OUR_400_PAGE = "We could not understand this request"


def _multipart(boundary: bytes, *parts: bytes, end: bool = True) -> bytes:
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + boundary + b"--\r\n" if end else b"")


_CODE_PART = b'Content-Disposition: form-data; name="code"\r\n\r\n123456'
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data; boundary=b0undary"

# (content type, body): what clients, scanners and attackers send to a form view.
BODY_SHAPES = [
    (f"{_FORM}; charset=utf-16", "code=123456".encode("utf-16")),
    (f"{_FORM}; charset=utf-16le", "code=123456".encode("utf-16le")),
    (f"{_FORM}; charset=utf-32", "code=123456".encode("utf-32")),
    (f"{_FORM}; charset=utf-7", b"code=+ADEAMgAz-456"),
    (f"{_FORM}; charset=latin-1", b"code=123456"),
    (f"{_FORM}; charset=bogus-charset", b"code=123456"),
    (f"{_FORM}; charset=", b"code=123456"),
    (f'{_FORM}; charset="utf-8"', b"code=123456"),
    (f"{_FORM}; charset=utf-8; charset=utf-16", b"code=123456"),
    (_FORM, b"code=\xff\xfe\x00\x01"),
    (_FORM, b"code=%FF%FE%00%01"),
    (_FORM, b"\xef\xbb\xbfcode=123456"),
    (_FORM, b"code=" + b"1" * 100_000),
    (_FORM, b"&".join(b"f%d=1" % n for n in range(1_500))),
    (_FORM, b"code=1&" * 1_200),
    (_FORM, b"=&=&&==%%%"),
    (_FORM, b"x" * (3 * 1024 * 1024)),
    (_MULTIPART, _multipart(b"b0undary", _CODE_PART)),
    (f"{_MULTIPART}; charset=utf-16", _multipart(b"b0undary", _CODE_PART)),
    (f"{_MULTIPART}; charset=bogus", _multipart(b"b0undary", _CODE_PART)),
    (_MULTIPART, _multipart(b"b0undary", _CODE_PART, end=False)),
    ("multipart/form-data", _multipart(b"b0undary", _CODE_PART)),
    ("multipart/form-data; boundary=", b"--\r\n\r\n"),
    ("multipart/form-data; boundary=" + "b" * 200, b"--" + b"b" * 200 + b"\r\n"),
    (_MULTIPART, b"garbage without any boundary"),
    (_MULTIPART, _multipart(b"b0undary", b"Content-Disposition: form-data\r\n\r\nnameless")),
    (
        _MULTIPART,
        _multipart(
            b"b0undary",
            b'Content-Disposition: form-data; name="code"; filename="../../etc/passwd"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n123456",
        ),
    ),
    (
        _MULTIPART,
        _multipart(
            b"b0undary",
            b'Content-Disposition: form-data; name="code"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
        ),
    ),
    (
        _MULTIPART,
        _multipart(b"b0undary", *[b'Content-Disposition: form-data; name="f"\r\n\r\n1'] * 1_200),
    ),
    ("application/json", b'{"code": "123456"}'),
    ("application/json", b'{"code": ' * 10_000),
    ("text/plain", b"code=123456"),
    ("application/xml", b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>'),
    ("", b"code=123456"),
]


def _checking_csrf() -> Client:
    """A client whose posts go through the CSRF check as a browser's do: with the cookie,
    so that the check goes on to read the token from the body."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "c" * 32
    return client


def _form_views(courier, operator, customer, out_for_delivery, pickup_point):
    """(who is signed in, URL) for every form a person posts to."""
    return [
        (None, reverse("login")),
        (None, reverse("password_reset")),
        (courier.user, reverse("courier_stop", args=[out_for_delivery.tracking_number])),
        (operator, reverse("pickup_point", args=[pickup_point.pk])),
        (operator, reverse("pickup_receive", args=[pickup_point.pk])),
        (customer, reverse("track_resend", args=[out_for_delivery.tracking_number])),
    ]


def test_no_body_shape_posted_to_any_form_is_a_server_error(
    courier, operator, customer, out_for_delivery, pickup_point
):
    problems = []
    for person, url in _form_views(courier, operator, customer, out_for_delivery, pickup_point):
        client = _checking_csrf()
        if person is not None:
            client.force_login(person)
        for content_type, body in BODY_SHAPES:
            try:
                response = client.generic("POST", url, body, content_type=content_type)
            except Exception as error:  # noqa: BLE001 - an escaping error is the failure
                problems.append((url, content_type[:60], type(error).__name__))
                continue
            if response.status_code >= 500:
                problems.append((url, content_type[:60], response.status_code))
            elif response.status_code == 400 and OUR_400_PAGE not in response.content.decode():
                problems.append((url, content_type[:60], "not our 400 page"))

    assert problems == []
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()


@pytest.mark.parametrize("charset", ["utf-16", "utf-7"])
def test_a_form_posted_in_a_charset_django_refuses_is_our_400_page(charset):
    response = _checking_csrf().generic(
        "POST",
        reverse("login"),
        "username=marco&password=x".encode("utf-16" if charset == "utf-16" else "ascii"),
        content_type=f"{_FORM}; charset={charset}",
    )

    assert response.status_code == 400
    assert OUR_400_PAGE in response.content.decode()


@pytest.mark.parametrize("length", [151, 256, 10_000])
def test_an_overlong_username_at_sign_in_is_a_form_error(client, length):
    response = client.post(reverse("login"), {"username": "m" * length, "password": "x"})

    assert response.status_code == 200


def _huge_parameters(model):
    huge = "9" * 23
    parameters = [{"p": huge}, {"pk": huge}, {"pk__gt": huge}, {"id__in": f"1,{huge}"}]
    for field in model._meta.get_fields():
        if field.is_relation or not hasattr(field, "get_internal_type"):
            continue
        kind = field.get_internal_type()
        name = field.name
        if kind in {"DateTimeField", "DateField"}:
            parameters += [
                {f"{name}__year": huge},
                {f"{name}__year": huge, f"{name}__month": "1"},
                {f"{name}__year": "2026", f"{name}__month": huge},
                {f"{name}__year": "2026", f"{name}__month": "1", f"{name}__day": huge},
                {f"{name}__gte": f"{huge}-01-01"},
                {f"{name}__lt": "99999-99-99"},
                {f"{name}__month": "-1"},
            ]
        elif "Integer" in kind or kind in {"DecimalField", "FloatField", "BigAutoField"}:
            parameters += [{name: huge}, {f"{name}__gt": huge}, {name: "1e400"}]
    return parameters


def test_no_changelist_parameter_is_a_server_error(admin_client, out_for_delivery):
    problems = []
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for parameters in _huge_parameters(model):
            try:
                response = admin_client.get(url, parameters)
            except Exception as error:  # noqa: BLE001 - an escaping error is the failure
                problems.append((url, parameters, type(error).__name__))
                continue
            if response.status_code >= 500:
                problems.append((url, parameters, response.status_code))

    assert problems == []


def test_the_code_entry_list_with_a_23_digit_year_is_our_400_page(admin_client):
    response = admin_client.get(
        reverse("admin:codes_codeentry_changelist"), {"created_at__year": "9" * 23}
    )

    assert response.status_code == 400
    assert OUR_400_PAGE in response.content.decode()


def test_bogus_host_headers_send_operations_no_email_per_request(client, settings):
    settings.ADMINS = ["oncall@example.com"]

    statuses = {client.get("/", HTTP_HOST=f"evil{n}.example").status_code for n in range(10)}

    assert statuses == {400}
    assert len(mail.outbox) <= 1
