"""Send my code again (rule 12): the current code, at most 3 times an hour per parcel."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse

from codes.models import CodeEmail
from codes.services import EntryContext
from handoff.services import shipment_hand_over_at_door
from tests.conftest import ROME, plain_code, wrong_code_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


def _resend(client, shipment):
    return client.post(reverse("track_resend", args=[shipment.tracking_number]), follow=True)


def _resent():
    return CodeEmail.objects.filter(purpose=CodeEmail.Purpose.RESENT)


def test_tracking_page_offers_to_send_the_code_again(customer_client, out_for_delivery):
    response = customer_client.get(reverse("track", args=[out_for_delivery.tracking_number]))

    content = response.content.decode()
    assert "Send my code again" in content
    assert reverse("track_resend", args=[out_for_delivery.tracking_number]) in content


def test_send_again_emails_the_current_code(
    customer_client, out_for_delivery, django_capture_on_commit_callbacks
):
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = _resend(customer_client, out_for_delivery)

    code = plain_code(out_for_delivery)
    assert "We have emailed your delivery code again" in response.content.decode()
    (message,) = mail.outbox
    assert message.to == [out_for_delivery.order.email]
    assert "(sent again)" in message.subject
    assert f"{code[:3]} {code[3:]}" in message.body


def test_fourth_request_within_an_hour_is_refused_with_a_clear_message(
    customer_client, out_for_delivery
):
    for _ in range(3):
        _resend(customer_client, out_for_delivery)

    response = _resend(customer_client, out_for_delivery)

    content = response.content.decode()
    assert "already had this code sent 3 times in the last hour" in content
    assert "You can ask again from 11:00" in content
    assert _resent().count() == 3


def test_requests_count_again_an_hour_later(customer_client, out_for_delivery, time_machine):
    for _ in range(3):
        _resend(customer_client, out_for_delivery)
    time_machine.move_to(datetime.datetime(2026, 11, 26, 11, 0, 1, tzinfo=ROME), tick=False)

    response = _resend(customer_client, out_for_delivery)

    assert "We have emailed your delivery code again" in response.content.decode()
    assert _resent().count() == 4


def test_limit_is_a_setting(customer_client, out_for_delivery, settings):
    settings.CODE_RESEND_MAX_PER_HOUR = 1
    _resend(customer_client, out_for_delivery)

    _resend(customer_client, out_for_delivery)

    assert _resent().count() == 1


def test_another_customers_parcel_is_not_found(client, out_for_delivery):
    client.force_login(UserFactory(username="mallory"))

    response = client.post(reverse("track_resend", args=[out_for_delivery.tracking_number]))

    assert response.status_code == 404
    assert not _resent().exists()


def test_send_again_needs_a_post(customer_client, out_for_delivery):
    response = customer_client.get(reverse("track_resend", args=[out_for_delivery.tracking_number]))

    assert response.status_code == 405
    assert not _resent().exists()


def test_send_again_needs_sign_in(client, out_for_delivery):
    response = client.post(reverse("track_resend", args=[out_for_delivery.tracking_number]))

    assert response.status_code == 302
    assert not _resent().exists()


def test_nothing_to_send_after_delivery(customer_client, out_for_delivery, courier):
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )

    response = _resend(customer_client, out_for_delivery)

    assert "no valid code to send" in response.content.decode()
    assert not _resent().exists()


def test_tracking_page_explains_a_locked_code(customer_client, out_for_delivery, courier):
    wrong = wrong_code_for(out_for_delivery)
    for _ in range(5):
        shipment_hand_over_at_door(
            shipment=out_for_delivery, raw_code=wrong, context=EntryContext(courier.user)
        )

    response = customer_client.get(reverse("track", args=[out_for_delivery.tracking_number]))

    content = response.content.decode()
    assert 'data-code-alert="locked"' in content
    assert "You will get a new code by email with the next delivery day" in content
