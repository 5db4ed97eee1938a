"""The code emails (rule 3 and 12): content, language, markup, and delivery by the task."""

import datetime
import json
import re
import smtplib
import threading
from unittest import mock

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from codes import notifications
from codes.models import CodeEmail, DeliveryCode
from codes.services import EntryContext
from codes.tasks import queue_unsent_code_emails, send_code_email
from handoff.services import shipment_hand_over_at_door, shipment_mark_shipped
from orders.models import Order
from otpdelivery import background
from otpdelivery.celery import app as celery_app
from tests.conftest import ROME, TODAY, make_valuable_shipment, plain_code, wrong_code_for

pytestmark = pytest.mark.django_db

LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


@pytest.fixture
def shipped(customer, ops, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )


def _html(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")


def test_issue_email_has_a_plain_text_and_an_html_part(shipped):
    message = mail.outbox[0]

    assert message.to == [shipped.order.email]
    assert message.subject == f"Your delivery code for parcel {shipped.tracking_number}"
    assert "<html" in _html(message)


@pytest.mark.parametrize("part", ["text", "html"])
def test_issue_email_says_the_code_what_it_is_for_the_day_and_no_phone_requests(shipped, part):
    message = mail.outbox[0]
    content = message.body if part == "text" else _html(message)
    code = plain_code(shipped)

    assert f"{code[:3]} {code[3:]}" in content
    assert "handed over only against this delivery code" in content
    assert "Thursday 26 November 2026" in content
    assert "Nobody from our company will ever ask you for this code by phone" in content


def test_issue_email_carries_schema_org_parcel_delivery_markup(shipped):
    data = json.loads(LD_JSON.search(_html(mail.outbox[0])).group(1))

    assert data["@type"] == "ParcelDelivery"
    assert data["trackingNumber"] == shipped.tracking_number
    assert data["deliveryStatus"]["@type"] == "DeliveryEvent"
    assert data["deliveryStatus"]["accessCode"] == plain_code(shipped)
    assert data["deliveryStatus"]["availableThrough"] == "2026-11-26T23:59:59+01:00"


def test_issue_email_is_in_the_orders_language(customer, ops, django_capture_on_commit_callbacks):
    shipment = make_valuable_shipment(customer)
    Order.objects.filter(pk=shipment.order_id).update(language="it")

    with django_capture_on_commit_callbacks(execute=True):
        shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)

    message = mail.outbox[0]
    assert "giovedì 26 novembre 2026" in message.body.lower()
    assert 'lang="it"' in _html(message)


def test_code_is_emailed_only_after_the_transaction_commits(customer, ops):
    # No on-commit capture: the test transaction never commits, so nothing may be sent.
    shipment_mark_shipped(shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY)

    assert mail.outbox == []
    assert CodeEmail.objects.get().sent_at is None


def test_sending_task_takes_only_the_email_id(customer, ops, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(send_code_email, "apply_async") as apply_async,
        django_capture_on_commit_callbacks(execute=True),
    ):
        shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )

    apply_async.assert_called_once()
    assert apply_async.call_args.args == ((CodeEmail.objects.get().pk,),)
    assert set(apply_async.call_args.kwargs) <= {"producer"}


def test_running_the_task_twice_sends_once(shipped):
    email = CodeEmail.objects.get()

    assert send_code_email(email.pk) is False

    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.sent_at is not None


@pytest.mark.parametrize(
    "error",
    [smtplib.SMTPServerDisconnected("gone"), ConnectionRefusedError(), TimeoutError()],
    ids=["smtp", "refused-connection", "timeout"],
)
def test_task_is_retried_after_a_transient_send_error(shipped, error):
    email = CodeEmail.objects.get()
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None)

    with (
        mock.patch.object(EmailMultiAlternatives, "send", side_effect=error),
        pytest.raises(Retry),
    ):
        send_code_email.apply(args=[email.pk])

    email.refresh_from_db()
    assert (email.sent_at, email.failed_at) == (None, None)


def test_retried_task_sends_once_the_server_is_back(shipped):
    email = CodeEmail.objects.get()
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None)
    mail.outbox.clear()
    with (
        mock.patch.object(EmailMultiAlternatives, "send", side_effect=TimeoutError()),
        pytest.raises(Retry),
    ):
        send_code_email.apply(args=[email.pk])

    send_code_email.apply(args=[email.pk])

    email.refresh_from_db()
    assert len(mail.outbox) == 1
    assert email.sent_at is not None


def test_task_gives_up_on_a_refused_address(shipped):
    email = CodeEmail.objects.get()
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None)
    refused = smtplib.SMTPRecipientsRefused({"alice@example.com": (550, b"no such user")})

    with mock.patch.object(EmailMultiAlternatives, "send", side_effect=refused) as send:
        result = send_code_email.apply(args=[email.pk], throw=False)

    assert result.failed()

    email.refresh_from_db()
    assert send.call_count == 1
    assert email.failed_at is not None
    assert email.sent_at is None


def test_email_of_a_replaced_code_is_not_sent(shipped):
    email = CodeEmail.objects.get()
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None)
    DeliveryCode.objects.update(status=DeliveryCode.Status.REVOKED)
    mail.outbox.clear()

    assert send_code_email(email.pk) is False

    assert mail.outbox == []


def test_issue_email_is_asked_for_once_per_code(shipped, frozen_now):
    code = DeliveryCode.objects.get()

    assert not notifications.code_email_request(
        code=code, purpose=CodeEmail.Purpose.ISSUED, now=frozen_now
    )

    assert CodeEmail.objects.count() == 1


def _email_rows():
    return list(
        CodeEmail.objects.order_by("pk").values_list(
            "code_id", "purpose", "requested_at", "sent_at", "failed_at"
        )
    )


@pytest.mark.parametrize("purpose", CodeEmail.ONCE_PER_CODE)
def test_once_per_code_request_in_one_statement_agrees_with_the_orm_version(
    shipped, frozen_now, purpose
):
    # Given a code with no email yet
    code = DeliveryCode.objects.get()
    CodeEmail.objects.all().delete()
    written = {}
    answers = {}
    for name, request in [
        ("sql", notifications._request_once),
        ("orm", notifications._request_once_with_orm),
    ]:
        # When each version is asked twice for the same email
        first = request(code=code, purpose=purpose, now=frozen_now)
        second = request(code=code, purpose=purpose, now=frozen_now)
        answers[name] = (first.pk is not None, first.purpose, first.requested_at, second)
        written[name] = _email_rows()
        CodeEmail.objects.all().delete()

    # Then both wrote the same one row and answered the same: the email, then None
    assert written["sql"] == written["orm"]
    assert len(written["sql"]) == 1
    assert answers["sql"] == answers["orm"] == (True, purpose, frozen_now, None)


def test_once_per_code_request_is_one_statement(shipped, frozen_now, django_assert_num_queries):
    code = DeliveryCode.objects.get()

    with django_assert_num_queries(1):
        notifications.code_email_request(
            code=code, purpose=CodeEmail.Purpose.WRONG_CODE, now=frozen_now
        )


def test_nothing_about_the_code_is_logged(
    customer, ops, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level("DEBUG")
    with django_capture_on_commit_callbacks(execute=True):
        shipment = shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )

    assert plain_code(shipment) not in caplog.text


# --- Broker down: entry still works, and the emails go out later -------------------------


@pytest.fixture
def broker_down():
    """A broker nobody listens on, as when Redis is stopped."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    yield
    # The publishes handed to the background thread give up before the broker is back.
    assert background.wait_until_idle(timeout=30)
    celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous


def test_first_wrong_code_answers_without_waiting_for_its_alert_emails_publish(
    client, courier, out_for_delivery, django_capture_on_commit_callbacks, monkeypatch
):
    # Given a broker (not tasks run inline: the autouse fixture restores them) that is slow
    # to take a task
    celery_app.conf.task_always_eager = False
    broker_answers = threading.Event()
    published = []

    def slow_queue(*, code_email_ids):
        broker_answers.wait(timeout=10)
        published.extend(code_email_ids)

    monkeypatch.setattr(notifications, "code_emails_queue", slow_queue)
    client.force_login(courier.user)
    url = reverse("courier_stop", args=[out_for_delivery.tracking_number])

    # When the courier enters a first wrong code
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"code": wrong_code_for(out_for_delivery)})

    # Then the answer comes while the email's publish still waits on the broker, with the
    # email's row already committed for the periodic re-queue should the publish be lost
    assert response.status_code == 200
    assert published == []
    alert = CodeEmail.objects.get(purpose=CodeEmail.Purpose.WRONG_CODE)
    assert alert.sent_at is None
    # And the publish goes through once the broker answers
    broker_answers.set()
    assert background.wait_until_idle()
    assert published == [alert.pk]


def test_courier_can_enter_codes_while_the_broker_is_down(
    out_for_delivery, courier, broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wrong = shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=wrong_code_for(out_for_delivery),
            context=EntryContext(user=courier.user),
        )
        right = shipment_hand_over_at_door(
            shipment=out_for_delivery,
            raw_code=plain_code(out_for_delivery),
            context=EntryContext(user=courier.user),
        )

    assert wrong.outcome == "wrong"
    assert right.delivered
    # The wrong-code alert could not be queued; it waits in the database.
    assert CodeEmail.objects.get(purpose=CodeEmail.Purpose.WRONG_CODE).sent_at is None


def test_emails_asked_for_while_the_broker_was_down_go_out_when_it_is_back(
    customer, ops, broker_down, django_capture_on_commit_callbacks, time_machine
):
    with django_capture_on_commit_callbacks(execute=True):
        shipment = shipment_mark_shipped(
            shipment=make_valuable_shipment(customer), actor=ops, delivery_day=TODAY
        )
    assert mail.outbox == []
    celery_app.conf.task_always_eager = True  # the broker and a worker are back
    time_machine.move_to(datetime.datetime(2026, 11, 26, 10, 10, tzinfo=ROME), tick=False)

    assert queue_unsent_code_emails() == 1

    assert len(mail.outbox) == 1
    code = plain_code(shipment)
    assert f"{code[:3]} {code[3:]}" in mail.outbox[0].body
    assert queue_unsent_code_emails() == 0


def test_unsent_emails_are_not_queued_again_too_soon(shipped):
    CodeEmail.objects.update(sent_at=None)

    assert notifications.unsent_code_email_ids(now=CodeEmail.objects.get().requested_at) == []
