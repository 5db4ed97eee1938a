"""Entering a code at the door (rules 4, 5, 6, 7, 10)."""

import datetime

import pytest

from codes.models import CodeEntry, DeliveryCode
from codes.services import EntryContext
from handoff.services import (
    shipment_add_to_route,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
)
from orders.models import Shipment
from tests.conftest import make_valuable_shipment, plain_code, wrong_code_for
from tests.factories import CourierFactory, RouteFactory

pytestmark = pytest.mark.django_db

END_OF_TODAY = datetime.datetime(2026, 11, 26, 23, 0, tzinfo=datetime.UTC)  # Rome midnight


def _enter(shipment, raw, courier):
    return shipment_hand_over_at_door(
        shipment=shipment,
        raw_code=raw,
        context=EntryContext(user=courier.user, client_ip="10.0.0.7"),
    )


def test_correct_code_delivers_the_parcel(out_for_delivery, courier):
    result = _enter(out_for_delivery, plain_code(out_for_delivery), courier)

    out_for_delivery.refresh_from_db()
    assert result.delivered
    assert out_for_delivery.status == Shipment.Status.DELIVERED
    assert out_for_delivery.delivered_by == courier.user


def test_correct_code_is_used_and_never_valid_again(out_for_delivery, courier):
    code = plain_code(out_for_delivery)
    _enter(out_for_delivery, code, courier)

    again = _enter(out_for_delivery, code, courier)

    assert again.outcome == CodeEntry.Outcome.ALREADY_DELIVERED
    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == DeliveryCode.Status.USED


def test_success_records_who_when_and_where(out_for_delivery, courier, frozen_now):
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(
            user=courier.user, client_ip="10.0.0.7", latitude="41.9", longitude="12.5"
        ),
    )

    entry = CodeEntry.objects.get(outcome=CodeEntry.Outcome.CORRECT)
    assert (entry.user, entry.shipment, entry.client_ip) == (
        courier.user,
        out_for_delivery,
        "10.0.0.7",
    )
    assert entry.created_at == frozen_now
    assert (str(entry.latitude), str(entry.longitude)) == ("41.900000", "12.500000")


def test_code_with_a_space_is_accepted(out_for_delivery, courier):
    code = plain_code(out_for_delivery)

    assert _enter(out_for_delivery, f"{code[:3]} {code[3:]}", courier).delivered


def test_wrong_code_says_how_many_tries_are_left(out_for_delivery, courier):
    result = _enter(out_for_delivery, wrong_code_for(out_for_delivery), courier)

    out_for_delivery.refresh_from_db()
    assert (result.outcome, result.tries_left) == (CodeEntry.Outcome.WRONG, 4)
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert out_for_delivery.wrong_code_entries == 1


@pytest.mark.parametrize("malformed", ["١٢٣٤٥٦", "１２３４５６", "12345", "1234567", "12a456", ""])
def test_malformed_code_is_recorded_but_not_counted(out_for_delivery, courier, malformed):
    result = _enter(out_for_delivery, malformed, courier)

    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.MALFORMED
    assert out_for_delivery.wrong_code_entries == 0
    assert DeliveryCode.objects.get(shipment=out_for_delivery).wrong_attempts == 0
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.MALFORMED


def test_five_wrong_codes_lock_the_code(out_for_delivery, courier):
    wrong = wrong_code_for(out_for_delivery)
    results = [_enter(out_for_delivery, wrong, courier) for _ in range(5)]

    assert [r.tries_left for r in results] == [4, 3, 2, 1, 0]
    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == DeliveryCode.Status.LOCKED


def test_locked_code_refuses_even_the_right_code(out_for_delivery, courier):
    right, wrong = plain_code(out_for_delivery), wrong_code_for(out_for_delivery)
    for _ in range(5):
        _enter(out_for_delivery, wrong, courier)

    result = _enter(out_for_delivery, right, courier)

    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.LOCKED
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY
    assert out_for_delivery.wrong_code_entries == 5


def test_lock_limit_is_a_setting(out_for_delivery, courier, settings):
    settings.CODE_MAX_WRONG_ATTEMPTS = 2
    wrong = wrong_code_for(out_for_delivery)

    _enter(out_for_delivery, wrong, courier)
    _enter(out_for_delivery, wrong, courier)

    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == DeliveryCode.Status.LOCKED


def test_code_is_valid_in_the_last_second_of_its_day(out_for_delivery, courier, time_machine):
    time_machine.move_to(END_OF_TODAY - datetime.timedelta(seconds=1), tick=False)

    assert _enter(out_for_delivery, plain_code(out_for_delivery), courier).delivered


def test_code_is_refused_at_the_end_of_its_day(out_for_delivery, courier, time_machine):
    code = plain_code(out_for_delivery)
    time_machine.move_to(END_OF_TODAY, tick=False)

    result = _enter(out_for_delivery, code, courier)

    out_for_delivery.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.EXPIRED
    assert out_for_delivery.status == Shipment.Status.OUT_FOR_DELIVERY


def test_code_is_refused_one_second_after_the_end_of_its_day(
    out_for_delivery, courier, time_machine
):
    code = plain_code(out_for_delivery)
    time_machine.move_to(END_OF_TODAY + datetime.timedelta(seconds=1), tick=False)

    assert _enter(out_for_delivery, code, courier).outcome == CodeEntry.Outcome.EXPIRED


def test_expired_code_does_not_count_as_wrong(out_for_delivery, courier, time_machine):
    time_machine.move_to(END_OF_TODAY, tick=False)

    _enter(out_for_delivery, wrong_code_for(out_for_delivery), courier)

    out_for_delivery.refresh_from_db()
    assert out_for_delivery.wrong_code_entries == 0


# Both 2026 daylight-saving change days in Rome: 29 March (23 h) and 25 October (25 h).
@pytest.mark.parametrize(
    ("day", "last_valid_utc"),
    [
        (
            datetime.date(2026, 3, 29),
            datetime.datetime(2026, 3, 29, 21, 59, 59, tzinfo=datetime.UTC),
        ),
        (
            datetime.date(2026, 10, 25),
            datetime.datetime(2026, 10, 25, 22, 59, 59, tzinfo=datetime.UTC),
        ),
    ],
)
def test_validity_on_daylight_saving_days(day, last_valid_utc, time_machine, customer, ops):
    time_machine.move_to(datetime.datetime.combine(day, datetime.time(8)), tick=False)
    courier = CourierFactory()
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=day)
    shipment_add_to_route(route=RouteFactory(courier=courier, day=day), shipment=shipment)
    shipment_mark_out_for_delivery(shipment=shipment, actor=ops)
    code = plain_code(shipment)

    time_machine.move_to(last_valid_utc + datetime.timedelta(seconds=1), tick=False)
    assert _enter(shipment, code, courier).outcome == CodeEntry.Outcome.EXPIRED
    time_machine.move_to(last_valid_utc, tick=False)
    assert _enter(shipment, code, courier).delivered


def test_double_submission_delivers_once(out_for_delivery, courier):
    code = plain_code(out_for_delivery)

    first = _enter(out_for_delivery, code, courier)
    second = _enter(out_for_delivery, code, courier)

    assert first.outcome == CodeEntry.Outcome.CORRECT
    assert second.outcome == CodeEntry.Outcome.ALREADY_DELIVERED
    assert CodeEntry.objects.filter(outcome=CodeEntry.Outcome.CORRECT).count() == 1
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERED).count() == 1


def test_every_entry_is_recorded(out_for_delivery, courier):
    _enter(out_for_delivery, "12a456", courier)
    _enter(out_for_delivery, wrong_code_for(out_for_delivery), courier)
    _enter(out_for_delivery, plain_code(out_for_delivery), courier)

    assert list(CodeEntry.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "malformed",
        "wrong",
        "correct",
    ]


def test_code_entries_cannot_be_changed_or_deleted(out_for_delivery, courier):
    _enter(out_for_delivery, "12a456", courier)
    entry = CodeEntry.objects.get()

    entry.outcome = CodeEntry.Outcome.CORRECT
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
