"""Sign-in links (rule 17): in every parcel email, bound to the customer and the parcel,
valid 7 days, one click to use, and a GET alone changes nothing."""

import datetime
import json
import re

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.urls import reverse

from orders.models import Shipment
from otpdelivery.signin_links import orders_signin_url, tracking_signin_url
from retailers.models import Retailer
from retailers.services import api_key_create
from tests.codes.test_worker import Inbox, _free_port
from tests.conftest import make_valuable_shipment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
LINK = re.compile(r"(http://\S+/accounts/link/\S+)")
TRACK_CODE = re.compile(r'data-delivery-code="(\d{6})"')
CODE_LINE = re.compile(r"^ {4}(\d{3}) (\d{3})\r?$", re.M)


def _path_and_token(url):
    path, _, query = url.partition("?")
    return "/" + path.split("/", 3)[3], query.removeprefix("sesame=")


def _signed_in_user(client):
    return client.session.get("_auth_user_id")


@pytest.fixture
def smtp_inbox(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    yield inbox
    controller.stop()


def test_api_customer_without_password_follows_the_code_email_link_to_the_same_code(
    client, smtp_inbox, django_capture_on_commit_callbacks
):
    shop = Retailer.objects.create(name="Demo Shop")
    _, raw_key = api_key_create(retailer=shop, name="k")
    headers = {"Authorization": f"Bearer {raw_key}"}
    order = client.post(
        "/api/v1/orders",
        data=json.dumps(
            {
                "reference": "R-1",
                "customer": {"email": "gina@example.com", "name": "Gina Russo"},
                "delivery_address": "Via Roma 1\n00184 Roma RM",
                "items": [{"name": "Ring", "unit_price": "1200.00"}],
            }
        ),
        content_type="application/json",
        headers=headers,
    ).json()
    tracking = order["shipments"][0]["tracking_number"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/shipments/{tracking}/ship", headers=headers)
    ((recipients, message),) = smtp_inbox.wait_for(1)
    assert recipients == ["gina@example.com"]
    assert not User.objects.get(email="gina@example.com").has_usable_password()
    text = message.get_body(preferencelist=("plain",)).get_content()
    emailed_code = "".join(CODE_LINE.search(text).groups())
    path, token = _path_and_token(LINK.search(text).group(1))

    page = client.get(path + "?sesame=" + token)
    assert page.status_code == 200
    response = client.post(path, {"sesame": token}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("track", args=[tracking])
    assert TRACK_CODE.search(response.content.decode()).group(1) == emailed_code


def test_a_get_of_the_link_signs_nobody_in_and_does_not_use_it_up(client, customer):
    shipment = make_valuable_shipment(customer)
    path, token = _path_and_token(tracking_signin_url(shipment))
    for _ in range(3):
        page = client.get(path + "?sesame=" + token)
        assert page.status_code == 200
        assert _signed_in_user(client) is None
    customer.refresh_from_db()
    assert customer.last_login is None
    response = client.post(path, {"sesame": token})
    assert response.status_code == 302
    assert _signed_in_user(client) == str(customer.pk)


def test_a_link_is_used_up_by_signing_in(client, customer):
    shipment = make_valuable_shipment(customer)
    path, token = _path_and_token(tracking_signin_url(shipment))
    client.post(path, {"sesame": token})
    client.logout()
    response = client.post(path, {"sesame": token})
    assert response.status_code == 400
    assert _signed_in_user(client) is None


def test_a_link_works_for_7_days_and_not_a_second_more(client, customer, time_machine, frozen_now):
    shipment = make_valuable_shipment(customer)
    path, token = _path_and_token(tracking_signin_url(shipment))
    time_machine.move_to(frozen_now + datetime.timedelta(days=7, seconds=1), tick=False)
    assert client.post(path, {"sesame": token}).status_code == 400
    assert _signed_in_user(client) is None


def test_a_link_still_works_on_its_seventh_day(client, customer, time_machine, frozen_now):
    shipment = make_valuable_shipment(customer)
    path, token = _path_and_token(tracking_signin_url(shipment))
    time_machine.move_to(frozen_now + datetime.timedelta(days=6, hours=23), tick=False)
    assert client.post(path, {"sesame": token}).status_code == 302


def test_a_link_never_opens_another_customers_parcel(client, customer):
    mine = make_valuable_shipment(customer)
    theirs = make_valuable_shipment(UserFactory(username="bruno"))
    _, token = _path_and_token(tracking_signin_url(mine))
    response = client.post(
        reverse("signin_link_track", args=[theirs.tracking_number]), {"sesame": token}
    )
    assert response.status_code == 400
    assert _signed_in_user(client) is None
    assert "data-shipment-status" not in response.content.decode()


def test_a_link_of_a_parcel_whose_customer_changed_opens_nothing(client, customer):
    shipment = make_valuable_shipment(customer)
    path, token = _path_and_token(tracking_signin_url(shipment))
    other = UserFactory(username="carla")
    Shipment.objects.filter(pk=shipment.pk).update()
    shipment.order.customer = other
    shipment.order.save(update_fields=["customer"])
    assert client.post(path, {"sesame": token}).status_code == 400
    assert _signed_in_user(client) is None


def test_a_signed_in_customer_following_anothers_link_becomes_that_customer(client, customer):
    other = UserFactory(username="bruno")
    theirs = make_valuable_shipment(other)
    client.force_login(customer)
    path, token = _path_and_token(tracking_signin_url(theirs))
    client.post(path, {"sesame": token})
    assert _signed_in_user(client) == str(other.pk)


@pytest.mark.parametrize("token", ["", "garbage", "x" * 199])
def test_a_bad_token_signs_nobody_in(client, customer, token):
    shipment = make_valuable_shipment(customer)
    url = reverse("signin_link_track", args=[shipment.tracking_number])
    assert client.post(url, {"sesame": token}).status_code == 400
    assert _signed_in_user(client) is None


def test_orders_link_opens_your_orders(client, customer):
    path, token = _path_and_token(orders_signin_url(customer))
    response = client.post(path, {"sesame": token})
    assert response.url == reverse("order_list")


def test_the_link_page_needs_a_csrf_token(customer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    path, token = _path_and_token(tracking_signin_url(make_valuable_shipment(customer)))
    assert client.post(path, {"sesame": token}).status_code == 403


# --- Email me a sign-in link ---------------------------------------------------------------


def test_sign_in_page_offers_to_email_a_link(client):
    page = client.get(reverse("login")).content.decode()
    assert reverse("signin_link_request") in page
    assert "Email me a sign-in link" in page


def test_known_and_unknown_addresses_get_the_same_answer(client, customer, mailoutbox):
    known = client.post(reverse("signin_link_request"), {"email": customer.email}, follow=True)
    unknown = client.post(
        reverse("signin_link_request"), {"email": "nobody@example.com"}, follow=True
    )
    assert known.redirect_chain == unknown.redirect_chain

    def without_csrf(response):
        return re.sub(r'value="[^"]{64}"', "", response.content.decode())

    assert without_csrf(known) == without_csrf(unknown)
    assert "If an account uses this address" in without_csrf(known)
    assert [message.to for message in mailoutbox] == [[customer.email]]


def test_emailed_link_signs_in_to_your_orders(client, customer, mailoutbox):
    client.post(reverse("signin_link_request"), {"email": customer.email.upper()})
    path, token = _path_and_token(LINK.search(mailoutbox[0].body).group(1))
    response = client.post(path, {"sesame": token})
    assert response.url == reverse("order_list")
    assert _signed_in_user(client) == str(customer.pk)


def test_link_requests_are_rate_limited_per_address(client, customer, mailoutbox, settings):
    settings.SIGNIN_LINK_MAX_PER_HOUR = 3
    for _ in range(5):
        response = client.post(reverse("signin_link_request"), {"email": customer.email})
        assert response.status_code == 302
    assert len(mailoutbox) == 3


def test_a_malformed_address_is_a_form_error(client, mailoutbox):
    response = client.post(reverse("signin_link_request"), {"email": "not an address"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert mailoutbox == []
