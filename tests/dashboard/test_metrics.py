"""GET /metrics: only with the bearer token, never a code or anything about a person, and
each figure moves when its event happens."""

import datetime

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert
from alerts.services import alert_open, alert_resolve
from codes.models import CodeEmail, CodeEntry
from codes.services import EntryContext
from handoff.services import shipment_hand_over_at_door
from handoff.tasks import day_end
from monitoring.models import TaskRun
from orders.models import Shipment
from tests.conftest import FROZEN_NOW, plain_code, wrong_code_for
from tests.factories import ShipmentFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-only"


@pytest.fixture(autouse=True)
def _metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> str:
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def value(body: str, name: str, default: float | None = None, **labels) -> float:
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    if default is not None:
        return default
    raise AssertionError(f"{name} {labels} not in the metrics")


# --- Who may read them ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_metrics_refuse_a_missing_or_wrong_token(client, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get(reverse("metrics"), **headers)

    assert response.status_code == 401
    assert b"otp_" not in response.content
    assert not TaskRun.objects.exists()


def test_metrics_do_not_exist_without_a_configured_token(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404


def test_metrics_are_not_for_a_signed_in_operator_without_the_token(client, ops):
    client.force_login(ops)

    assert client.get(reverse("metrics")).status_code == 401


def test_metrics_answer_only_get(client):
    response = client.post(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 405


# --- What they never show -------------------------------------------------------------------


def test_metrics_never_show_a_code_a_tracking_number_or_a_person(
    client, out_for_delivery, courier, customer
):
    # Given a parcel out for delivery with a wrong code entered, and its page visited
    code = plain_code(out_for_delivery)
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=wrong_code_for(out_for_delivery),
        context=EntryContext(user=courier.user),
    )
    client.get(f"/track/{out_for_delivery.tracking_number}/")

    # When
    body = scrape(client)

    # Then
    assert code not in body
    assert f"{code[:3]} {code[3:]}" not in body
    assert out_for_delivery.tracking_number not in body
    assert out_for_delivery.order.number not in body
    for person in (customer, courier.user):
        for detail in (person.username, person.email, person.first_name, person.last_name):
            assert detail not in body


# --- Each figure moves with its event -------------------------------------------------------


def test_code_entries_count_moves_with_each_entry_by_outcome(client, out_for_delivery, courier):
    before = scrape(client)
    context = EntryContext(user=courier.user)

    shipment_hand_over_at_door(shipment=out_for_delivery, raw_code="12a456", context=context)
    shipment_hand_over_at_door(
        shipment=out_for_delivery, raw_code=wrong_code_for(out_for_delivery), context=context
    )
    shipment_hand_over_at_door(
        shipment=out_for_delivery, raw_code=plain_code(out_for_delivery), context=context
    )

    after = scrape(client)
    for outcome in ("malformed", "wrong", "correct"):
        name = "otp_code_entries_total"
        assert value(before, name, outcome=outcome) == 0
        assert value(after, name, outcome=outcome) == 1
    assert value(after, "otp_code_entries_total", outcome="override") == 0


def test_code_email_figures_move_when_one_waits_is_sent_or_given_up(
    client, shipped_for_today, time_machine
):
    # Given the code email of a parcel just shipped, not sent yet (its task was lost)
    email = CodeEmail.objects.get(code__shipment=shipped_for_today)
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None, failed_at=None)
    time_machine.move_to(FROZEN_NOW + datetime.timedelta(minutes=20), tick=False)
    waiting = scrape(client)
    assert value(waiting, "otp_code_emails_waiting") == 1
    assert value(waiting, "otp_code_emails_oldest_waiting_seconds") == 20 * 60
    assert value(waiting, "otp_code_emails_sent_total") == 0

    # When it is sent
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=FROZEN_NOW)
    sent = scrape(client)
    assert value(sent, "otp_code_emails_waiting") == 0
    assert value(sent, "otp_code_emails_oldest_waiting_seconds") == 0
    assert value(sent, "otp_code_emails_sent_total") == 1

    # And another is given up after every retry
    CodeEmail.objects.filter(pk=email.pk).update(sent_at=None, failed_at=FROZEN_NOW)
    failed = scrape(client)
    assert value(failed, "otp_code_emails_failed_total") == 1
    assert value(failed, "otp_code_emails_waiting") == 0


def test_day_end_sweep_records_when_it_ran_and_the_rows_it_changed(
    client, out_for_delivery, time_machine
):
    assert value(scrape(client), "otp_day_end_sweep_last_run_timestamp_seconds") == 0

    # When the sweep runs after midnight: the parcel's code expires, the parcel is rescheduled
    after_midnight = datetime.datetime.combine(
        FROZEN_NOW.date() + datetime.timedelta(days=1), datetime.time(0, 5), FROZEN_NOW.tzinfo
    )
    time_machine.move_to(after_midnight, tick=False)
    result = day_end()

    body = scrape(client)
    assert value(body, "otp_day_end_sweep_last_run_timestamp_seconds") == after_midnight.timestamp()
    assert value(body, "otp_day_end_sweep_rows") == result["expired"] + result["rescheduled"] > 0
    assert value(body, "otp_day_end_sweep_duration_seconds") >= 0
    assert TaskRun.objects.get().task == TaskRun.Task.DAY_END_SWEEP


def test_open_alerts_move_when_an_alert_opens_and_when_it_is_resolved(
    client, ops, out_for_delivery
):
    alert = alert_open(kind=Alert.Kind.CUSTOMER_REPORT, shipment=out_for_delivery)
    opened = scrape(client)

    alert_resolve(alert=alert, actor=ops, note="Called the customer: a neighbour took it.")

    resolved = scrape(client)
    assert value(opened, "otp_alerts_open", kind="customer_report") == 1
    assert value(resolved, "otp_alerts_open", kind="customer_report") == 0
    assert value(resolved, "otp_alerts_open", kind="code_locked") == 0


def test_parcels_by_status_move_when_a_parcel_changes(client, out_for_delivery, courier):
    before = scrape(client)

    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )

    after = scrape(client)
    assert value(before, "otp_shipments", status=Shipment.Status.DELIVERED) == 0
    assert value(after, "otp_shipments", status=Shipment.Status.DELIVERED) == 1
    assert value(after, "otp_shipments", status=Shipment.Status.OUT_FOR_DELIVERY) == 0


def test_request_counter_moves_with_each_request_by_view_name_not_path(client):
    before = value(
        scrape(client), "otp_http_requests_total", default=0, view="healthz", status="200"
    )

    client.get(reverse("healthz"))

    after = scrape(client)
    assert value(after, "otp_http_requests_total", view="healthz", status="200") == before + 1
    assert 'view="/' not in after


def test_a_request_to_no_page_is_counted_without_its_path(client):
    client.get("/track/ODNOTAPARCEL1/extra/")

    body = scrape(client)

    assert value(body, "otp_http_requests_total", view="unmatched", status="404") >= 1
    assert "ODNOTAPARCEL1" not in body


def test_entries_at_no_parcel_are_counted_too(client):
    CodeEntry.objects.create(
        user=UserFactory(), outcome=CodeEntry.Outcome.WRONG, created_at=FROZEN_NOW
    )

    assert value(scrape(client), "otp_code_entries_total", outcome="wrong") == 1


def test_a_scrape_takes_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    ShipmentFactory.create_batch(5)

    with django_assert_max_num_queries(8):
        scrape(client)
