"""Production mode: structured logs, and the benchmark's baseline page kept out of sight."""

import json
import logging
import logging.config

import pytest
from django.test import Client
from django.urls import reverse

from otpdelivery.logconfig import logging_config
from tests.factories import OrderFactory, UserFactory


def _formatted(log_format: str, record: logging.LogRecord) -> str:
    config = logging_config(log_format=log_format, level="INFO")
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"][log_format]
    )
    return formatter.format(record)


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "codes.services", logging.WARNING, __file__, 1, "Code of %s locked", ("OD123",), None
    )
    record.__dict__.update(extra)
    return record


def test_json_logs_are_one_json_object_per_line():
    line = _formatted("json", _record())

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "codes.services"
    assert entry["message"] == "Code of OD123 locked"
    assert entry["time"].endswith("+00:00")


def test_json_logs_keep_extra_fields():
    entry = json.loads(_formatted("json", _record(status_code=403)))

    assert entry["status_code"] == 403


def test_json_logs_leave_out_the_request_and_its_cookies(rf):
    request = rf.get("/courier/", HTTP_COOKIE="sessionid=secret-session-value")
    request.META["HTTP_AUTHORIZATION"] = "Bearer secret-token"

    line = _formatted("json", _record(request=request))

    assert "request" not in json.loads(line)
    assert "secret" not in line


@pytest.mark.parametrize("log_format", ["xml", "", "JSON "])
def test_unknown_log_format_is_refused(log_format):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(log_format=log_format, level="INFO")


def test_gunicorn_loggers_do_not_also_write_through_the_root():
    config = logging_config(log_format="json", level="INFO", gunicorn=True)

    for name in ("gunicorn.error", "gunicorn.access"):
        assert config["loggers"][name]["propagate"] is False


# --- The benchmark's baseline page ----------------------------------------------------------

BASELINE_URL = "/bench/baseline"


@pytest.mark.django_db
def test_baseline_page_does_not_exist_unless_the_bench_turns_it_on(client, customer):
    client.force_login(customer)

    response = client.get(BASELINE_URL)

    assert response.status_code == 404


@pytest.mark.django_db
def test_baseline_page_is_not_there_for_anonymous_visitors_either(client):
    response = client.get(BASELINE_URL)

    assert response.status_code == 404


@pytest.mark.django_db
def test_baseline_page_asks_anonymous_visitors_to_sign_in_when_on(client, settings):
    settings.BENCH_BASELINE_VIEW = True

    response = client.get(BASELINE_URL)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.django_db
def test_baseline_page_reads_only_the_signed_in_persons_rows(
    client, settings, customer, django_assert_num_queries
):
    # Given the bench turned the page on, and orders of two customers
    settings.BENCH_BASELINE_VIEW = True
    OrderFactory(customer=UserFactory(username="bruno"), number="A00000002")
    OrderFactory(customer=customer, number="A00000001")
    client.force_login(customer)

    # When the customer loads it: the session, the user, and one read
    with django_assert_num_queries(3):
        response = client.get(BASELINE_URL)

    # Then it shows their own latest order and nobody else's
    assert response.status_code == 200
    assert response.content == b"A00000001"


ENTRY_FLOOR_URL = "/bench/entry-floor"


@pytest.mark.django_db
def test_entry_floor_page_does_not_exist_unless_the_bench_turns_it_on(client, customer):
    OrderFactory(customer=customer)
    client.force_login(customer)

    response = client.post(ENTRY_FLOOR_URL)

    assert response.status_code == 404


@pytest.mark.django_db
def test_entry_floor_page_sends_a_code_entrys_statements_and_changes_nothing(
    client, settings, customer, django_assert_num_queries
):
    # Given the bench turned the page on, and the customer's order
    settings.BENCH_BASELINE_VIEW = True
    order = OrderFactory(customer=customer, number="A00000001")
    client.force_login(customer)

    # When it is posted: the session, the user, a read, then two locks, a read and a write
    # in one transaction (the statements of a code entry; inside the test's own transaction
    # it is a savepoint, its SAVEPOINT and RELEASE counted too)
    with django_assert_num_queries(9):
        response = client.post(ENTRY_FLOOR_URL)

    # Then it answers, and the order is as it was
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.number, order.email) == (
        "A00000001",
        OrderFactory._meta.model.objects.get().email,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("url", [BASELINE_URL, ENTRY_FLOOR_URL])
def test_bench_pages_switched_off_answer_a_post_without_a_token_like_an_unknown_address(url):
    # Given a browser with no CSRF cookie, signed out (the test client checks CSRF here)
    client = Client(enforce_csrf_checks=True)

    # When it posts to a bench page and to an address that does not exist
    response = client.post(url)
    unknown = client.post("/no-such-page")

    # Then both are the same 404: nothing tells the bench's addresses exist
    assert response.status_code == unknown.status_code == 404


@pytest.mark.django_db
def test_entry_floor_switched_on_still_refuses_a_post_without_its_csrf_token(settings, customer):
    settings.BENCH_BASELINE_VIEW = True
    OrderFactory(customer=customer)
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)

    response = client.post(ENTRY_FLOOR_URL)

    assert response.status_code == 403
