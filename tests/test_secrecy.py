"""Rule 9 under attack: after a whole delivery the plain codes are nowhere but the email
and the customer's page; logs and error reports mask anything code-like; keys rotate."""

import datetime
import logging
import sys

import pytest
from celery.signals import task_postrun, task_prerun
from cryptography.fernet import Fernet
from django.contrib.admin.sites import site
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils.log import AdminEmailHandler
from django.views.debug import SafeExceptionReporterFilter

from codes import tokens
from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from handoff.services import shipment_add_to_route, shipment_hand_over_at_door
from orders.models import Shipment
from otpdelivery.error_reports import CodeRedactingExceptionReporter
from otpdelivery.redaction import RedactCodesFilter, redact
from tests.conftest import FROZEN_NOW, TODAY, make_valuable_shipment, plain_code, wrong_code_for
from tests.factories import RouteFactory

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + datetime.timedelta(days=1)


def _spellings(code: str) -> list[str]:
    return [code, f"{code[:3]} {code[3:]}", f"{code[:3]}-{code[3:]}"]


@pytest.fixture
def task_calls():
    """Every Celery task run: its arguments and what it returned."""
    calls = []

    def before(task=None, args=None, kwargs=None, **extra):
        calls.append(("args", task.name, repr(args), repr(kwargs)))

    def after(task=None, retval=None, **extra):
        calls.append(("retval", task.name, repr(retval)))

    task_prerun.connect(before, weak=False)
    task_postrun.connect(after, weak=False)
    yield calls
    task_prerun.disconnect(before)
    task_postrun.disconnect(after)


def _admin_action(client, action, shipment):
    return client.post(
        reverse("admin:orders_shipment_changelist"),
        {"action": action, "_selected_action": [shipment.pk]},
    )


@pytest.fixture
def full_flow(
    client,
    customer,
    courier,
    ops,
    caplog,
    task_calls,
    time_machine,
    django_capture_on_commit_callbacks,
):
    """Ship, a wrong code, a failed attempt with a new code, delivery the next day; all
    through the pages people use. Returns the plain codes that were issued."""
    caplog.set_level(logging.DEBUG)
    shipment = make_valuable_shipment(customer)
    shipment.delivery_day = TODAY
    shipment.save(update_fields=["delivery_day"])
    client.force_login(ops)
    with django_capture_on_commit_callbacks(execute=True):
        _admin_action(client, "mark_as_shipped", shipment)
    first = plain_code(shipment)
    shipment_add_to_route(route=RouteFactory(courier=courier, day=TODAY), shipment=shipment)
    _admin_action(client, "mark_as_out_for_delivery", shipment)

    client.force_login(customer)
    client.get(reverse("track", args=[shipment.tracking_number]))
    client.force_login(courier.user)
    stop = reverse("courier_stop", args=[shipment.tracking_number])
    client.post(stop, {"code": wrong_code_for(shipment)})
    client.post(stop, {"code": "12a456"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("courier_stop_failed", args=[shipment.tracking_number]),
            {"reason": "not_at_home"},
        )
    second = plain_code(shipment)

    time_machine.move_to(FROZEN_NOW + datetime.timedelta(days=1), tick=False)
    # The failed attempt put it on the courier's route for its new day (rule 14).
    client.force_login(ops)
    _admin_action(client, "mark_as_out_for_delivery", shipment)
    client.force_login(courier.user)
    client.post(stop, {"code": f"{second[:3]} {second[3:]}"})

    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.DELIVERED
    assert first != second
    assert len(mail.outbox) == 2
    return shipment, [first, second]


def test_full_flow_leaves_no_code_in_any_table(full_flow):
    shipment, codes = full_flow
    found = []

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    text = (
                        value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    )
                    found += [(table, code) for code in codes if code in text]

    assert found == []
    assert CodeEntry.objects.filter(shipment=shipment).count() == 3


def test_full_flow_leaves_no_code_in_any_log_record(full_flow, caplog):
    _shipment, codes = full_flow

    logged = [
        " ".join([record.getMessage(), str(record.args), record.exc_text or ""])
        for record in caplog.get_records("setup") + caplog.records
    ]

    assert logged, "the flow should have logged something (task runs, requests)"
    assert [line for line in logged for code in codes if code in line] == []


def test_full_flow_passes_no_code_to_any_celery_task(full_flow, task_calls):
    _shipment, codes = full_flow

    assert any(call[0] == "args" for call in task_calls)
    assert [call for call in task_calls for code in codes if code in " ".join(call)] == []


def test_full_flow_shows_no_code_on_any_admin_page(full_flow, client, ops):
    shipment, codes = full_flow
    client.force_login(ops)
    urls = []
    for model, model_admin in site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        urls += [
            reverse("admin:{}_{}_change".format(*info), args=[pk])
            for pk in model_admin.get_queryset(None).values_list("pk", flat=True)[:30]
        ]
    shown = []
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        content = response.content.decode()
        shown += [
            (url, code) for code in codes for spelling in _spellings(code) if spelling in content
        ]

    assert shown == []
    assert len(urls) > 20


def test_searching_the_audit_trail_for_a_code_finds_nothing(full_flow, client, ops):
    _shipment, codes = full_flow
    client.force_login(ops)

    for code in codes:
        response = client.get(reverse("admin:codes_codeentry_changelist") + f"?q={code}")
        assert "0 code entries" in response.content.decode()


# --- The log filter ---------------------------------------------------------------------------


def _filtered(message, *args, exc_info=None, **extra):
    record = logging.LogRecord("codes", logging.WARNING, __file__, 1, message, args, exc_info)
    for name, value in extra.items():
        setattr(record, name, value)
    RedactCodesFilter().filter(record)
    return record


@pytest.mark.parametrize(
    ("message", "args", "expected"),
    [
        ("code %s entered", ("123456",), "code ****** entered"),
        ("code 012345 entered", (), "code ****** entered"),
        ("read aloud as %s", ("123 456",), "read aloud as ******"),
        ("typed as %s", ("123-456",), "typed as ******"),
        (
            "POST /courier/stops/ODABC/ code=987654&x=1",
            (),
            "POST /courier/stops/ODABC/ code=******&x=1",
        ),
        ("order A12345678 is not a code", (), "order A12345678 is not a code"),
        ("status 200 in 35 ms", (), "status 200 in 35 ms"),
        ("colour #333333", (), "colour #333333"),
        ("12345 is too short", (), "12345 is too short"),
    ],
)
def test_log_filter_masks_anything_code_like(message, args, expected):
    assert _filtered(message, *args).getMessage() == expected


def test_log_filter_masks_a_code_in_a_traceback():
    try:
        raise ValueError("unexpected 246813")
    except ValueError:
        record = _filtered("failed", exc_info=sys.exc_info())

    formatted = logging.Formatter().format(record)
    assert "246813" not in formatted
    assert "ValueError: unexpected ******" in formatted


def test_log_filter_masks_extra_fields_a_json_formatter_would_write():
    record = _filtered("entry", raw_input="135 792")

    assert record.raw_input == "******"


def test_configured_console_handler_masks_codes(capsys):
    handler = next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)
    handler.setStream(sys.stderr)

    logging.getLogger("anything.at.all").warning("leaked %s", "975310")

    assert "975310" not in capsys.readouterr().err


# --- Error reports ----------------------------------------------------------------------------


@pytest.fixture
def failing_verification(monkeypatch):
    def explode(**kwargs):
        raise RuntimeError(f"database hiccup while checking {kwargs['raw_code']}")

    monkeypatch.setattr("couriers.views.shipment_hand_over_at_door", explode)
    monkeypatch.setattr("pickup.views.shipment_hand_over_at_counter", explode)


def _report_of_failing_post(client, url, code):
    from django.core.signals import got_request_exception

    caught = {}

    def keep(sender, request=None, **kwargs):
        caught["request"] = request
        caught["exc_info"] = sys.exc_info()

    got_request_exception.connect(keep, weak=False)
    client.raise_request_exception = False
    try:
        response = client.post(url, {"code": code})
    finally:
        got_request_exception.disconnect(keep)
    assert response.status_code == 500
    request = caught["request"]
    # sensitive_post_parameters marks the request; Django's own filter then hides the code.
    assert request.sensitive_post_parameters == ("code",)
    assert SafeExceptionReporterFilter().get_post_parameters(request)["code"] != code
    reporter = CodeRedactingExceptionReporter(request, *caught["exc_info"], is_email=True)
    return reporter.get_traceback_text() + reporter.get_traceback_html()


def test_error_report_of_a_courier_code_entry_holds_no_code(
    client, courier, out_for_delivery, failing_verification
):
    code = plain_code(out_for_delivery)
    client.force_login(courier.user)

    report = _report_of_failing_post(
        client, reverse("courier_stop", args=[out_for_delivery.tracking_number]), code
    )

    assert "RuntimeError" in report
    assert code not in report


def test_error_report_of_a_pickup_release_holds_no_code(
    client, operator, pickup_point, at_pickup_point, failing_verification
):
    code = plain_code(at_pickup_point)
    client.force_login(operator)

    report = _report_of_failing_post(client, reverse("pickup_point", args=[pickup_point.pk]), code)

    assert "RuntimeError" in report
    assert code not in report


def test_error_email_to_admins_holds_no_code(rf, settings):
    settings.ADMINS = ["ops@example.com"]
    request = rf.post("/courier/stops/ODX/", {"code": "864209"})
    try:
        raise RuntimeError("failed on 864209")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: %s",
            ("/courier/stops/ODX/?code=864209",),
            sys.exc_info(),
        )
    record.request = request
    RedactCodesFilter().filter(record)

    AdminEmailHandler(include_html=True).emit(record)

    email = mail.outbox[-1]
    assert "864209" not in email.subject + email.body
    assert all("864209" not in str(content) for content, _type in email.alternatives)


def test_redact_leaves_ordinary_text_alone():
    assert (
        redact("Parcel OD7K2M9P4QXZ delivered at 10:42") == "Parcel OD7K2M9P4QXZ delivered at 10:42"
    )


# --- Key rotation -----------------------------------------------------------------------------


def test_rotation_reencrypts_active_codes_under_the_newest_key(
    settings, out_for_delivery, customer
):
    old_key = settings.DELIVERY_CODE_ENCRYPTION_KEYS[0]
    code = plain_code(out_for_delivery)
    new_key = Fernet.generate_key().decode()
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_code_keys")

    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [new_key]
    assert plain_code(out_for_delivery) == code


def test_old_keys_still_decrypt_before_rotation(settings, out_for_delivery):
    code = plain_code(out_for_delivery)
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.DELIVERY_CODE_ENCRYPTION_KEYS,
    ]

    assert plain_code(out_for_delivery) == code


def test_rotation_with_a_lost_key_fails_loudly_and_changes_nothing(settings, out_for_delivery):
    before = DeliveryCode.objects.get(shipment=out_for_delivery).code_encrypted
    settings.DELIVERY_CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_code_keys")

    assert DeliveryCode.objects.get(shipment=out_for_delivery).code_encrypted == before


def test_rehash_lets_codes_be_checked_under_a_new_hash_key(settings, out_for_delivery, courier):
    code = plain_code(out_for_delivery)
    settings.DELIVERY_CODE_HASH_KEY = "a-brand-new-hash-key"

    call_command("rotate_code_keys", "--rehash")

    result = shipment_hand_over_at_door(
        shipment=out_for_delivery, raw_code=code, context=EntryContext(user=courier.user)
    )
    assert result.delivered


def test_rotation_prints_no_code(settings, out_for_delivery, capsys):
    code = plain_code(out_for_delivery)

    call_command("rotate_code_keys")

    assert code not in capsys.readouterr().out
    assert tokens.decrypt(DeliveryCode.objects.get().code_encrypted) == code


def test_tracking_page_holding_the_code_is_never_compressed(client, customer, out_for_delivery):
    # BREACH: a compressed response that holds a secret next to text an attacker can
    # choose leaks the secret through its length. The tracking page holds the code.
    client.force_login(customer)

    response = client.get(
        reverse("track", args=[out_for_delivery.tracking_number]),
        HTTP_ACCEPT_ENCODING="gzip, deflate, br",
    )

    assert plain_code(out_for_delivery)[:3] in response.content.decode()
    assert "Content-Encoding" not in response.headers
