"""The code at a pickup point: unique there, valid to the end of the last collection day,
and alone enough to find and release the parcel (rules 2, 4, 5, 6, 7, 10)."""

import datetime

import pytest
from django.core import mail

from codes import tokens
from codes.lifecycle import code_resend
from codes.models import CodeEmail, CodeEntry, DeliveryCode
from codes.services import EntryContext
from handoff.services import (
    shipment_hand_over_at_counter,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
)
from orders.models import Shipment
from tests.conftest import TODAY, make_parcel_at, make_valuable_shipment, plain_code

pytestmark = pytest.mark.django_db

# Arrived Thursday 26 November: held Friday to Sunday, the code ends at Sunday's midnight.
LAST_COLLECTION_DAY = datetime.date(2026, 11, 29)
END_OF_HOLDING = datetime.datetime(2026, 11, 29, 23, 0, tzinfo=datetime.UTC)


def _release(point, raw, user, client_ip="10.0.0.9"):
    return shipment_hand_over_at_counter(
        pickup_point=point, raw_code=raw, context=EntryContext(user=user, client_ip=client_ip)
    )


def _unused_code(*taken):
    return next(c for c in ("135792", "246813", "975310", "864209") if c not in taken)


def test_the_code_alone_releases_the_parcel_held_at_the_point(
    at_pickup_point, pickup_point, operator
):
    result = _release(pickup_point, plain_code(at_pickup_point), operator)

    at_pickup_point.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.CORRECT
    assert result.shipment == at_pickup_point
    assert at_pickup_point.status == Shipment.Status.DELIVERED
    assert at_pickup_point.delivered_by == operator


def test_release_finds_the_right_parcel_among_several(pickup_point, operator, customer, ops):
    parcels = [make_parcel_at(pickup_point, customer, ops) for _ in range(3)]

    result = _release(pickup_point, plain_code(parcels[1]), operator)

    statuses = [Shipment.objects.get(pk=p.pk).status for p in parcels]
    assert result.shipment == parcels[1]
    assert statuses == ["at_pickup_point", "delivered", "at_pickup_point"]


def test_release_records_who_when_and_which_point(
    at_pickup_point, pickup_point, operator, frozen_now
):
    _release(pickup_point, plain_code(at_pickup_point), operator)

    entry = CodeEntry.objects.get(outcome=CodeEntry.Outcome.CORRECT)
    assert (entry.user, entry.shipment, entry.pickup_point, entry.client_ip) == (
        operator,
        at_pickup_point,
        pickup_point,
        "10.0.0.9",
    )
    assert entry.created_at == frozen_now
    assert at_pickup_point.events.last().note == pickup_point.name


def test_a_code_valid_at_one_point_is_refused_at_another(
    at_pickup_point, pickup_point, other_point, other_operator
):
    result = _release(other_point, plain_code(at_pickup_point), other_operator)

    at_pickup_point.refresh_from_db()
    assert result.outcome == CodeEntry.Outcome.WRONG
    assert result.shipment is None
    assert at_pickup_point.status == Shipment.Status.AT_PICKUP_POINT
    entry = CodeEntry.objects.get(outcome=CodeEntry.Outcome.WRONG)
    assert (entry.shipment, entry.pickup_point, entry.user) == (None, other_point, other_operator)


def test_a_code_matching_no_parcel_is_a_wrong_entry_against_the_operator_only(
    at_pickup_point, pickup_point, operator
):
    result = _release(pickup_point, _unused_code(plain_code(at_pickup_point)), operator)

    at_pickup_point.refresh_from_db()
    code = DeliveryCode.objects.get(shipment=at_pickup_point, status="active")
    assert result.outcome == CodeEntry.Outcome.WRONG
    assert at_pickup_point.wrong_code_entries == 0
    assert code.wrong_attempts == 0
    assert CodeEntry.objects.filter(user=operator, outcome="wrong", shipment=None).count() == 1


@pytest.mark.parametrize("malformed", ["١٢٣٤٥٦", "１２３４５６", "12345", "1234567", "12a456", ""])
def test_malformed_code_at_the_point_is_recorded_but_not_counted(
    at_pickup_point, pickup_point, operator, malformed
):
    result = _release(pickup_point, malformed, operator)

    assert result.outcome == CodeEntry.Outcome.MALFORMED
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.MALFORMED
    assert CodeEntry.objects.get().pickup_point == pickup_point
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


def test_code_read_in_two_groups_is_accepted(at_pickup_point, pickup_point, operator):
    code = plain_code(at_pickup_point)

    assert _release(pickup_point, f"{code[:3]}-{code[3:]}", operator).delivered


def test_the_same_code_twice_says_already_released_and_counts_nothing(
    at_pickup_point, pickup_point, operator
):
    code = plain_code(at_pickup_point)
    _release(pickup_point, code, operator)

    again = _release(pickup_point, code, operator)

    assert again.outcome == CodeEntry.Outcome.ALREADY_DELIVERED
    assert again.shipment == at_pickup_point
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()


def test_a_locked_code_does_not_release_the_parcel(at_pickup_point, pickup_point, operator):
    code = plain_code(at_pickup_point)
    DeliveryCode.objects.filter(shipment=at_pickup_point).update(status="locked")

    result = _release(pickup_point, code, operator)

    assert result.outcome == CodeEntry.Outcome.LOCKED
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.LOCKED


# --- Validity: to the end of the last collection day --------------------------------------


def test_code_at_the_point_is_valid_to_the_end_of_the_last_collection_day(at_pickup_point):
    code = DeliveryCode.objects.get(shipment=at_pickup_point, status="active")

    assert (code.delivery_day, code.valid_until) == (LAST_COLLECTION_DAY, END_OF_HOLDING)
    assert at_pickup_point.delivery_day == LAST_COLLECTION_DAY


# Arrived Thursday 22 October 2026; Sunday the 25th has 25 hours (CEST → CET), and its
# local midnight is 23:00 UTC, not 22:00 as on the days before.
DST_ARRIVAL = datetime.datetime(2026, 10, 22, 9, 0, tzinfo=datetime.UTC)
DST_END_OF_HOLDING = datetime.datetime(2026, 10, 25, 23, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("at", "outcome"),
    [
        (DST_END_OF_HOLDING - datetime.timedelta(seconds=1), CodeEntry.Outcome.CORRECT),
        (DST_END_OF_HOLDING, CodeEntry.Outcome.EXPIRED),
    ],
)
def test_holding_period_ending_on_a_daylight_saving_day_ends_at_local_midnight(
    pickup_point, customer, ops, operator, time_machine, at, outcome
):
    time_machine.move_to(DST_ARRIVAL, tick=False)
    shipment = make_parcel_at(pickup_point, customer, ops)
    time_machine.move_to(at, tick=False)

    result = _release(pickup_point, plain_code(shipment), operator)

    assert result.outcome == outcome


def test_holding_period_is_a_setting(pickup_point, customer, ops, settings):
    settings.PICKUP_HOLDING_DAYS = 1

    shipment = make_parcel_at(pickup_point, customer, ops)

    assert shipment.delivery_day == TODAY + datetime.timedelta(days=1)


def test_code_is_accepted_in_the_last_second_of_the_holding_period(
    at_pickup_point, pickup_point, operator, time_machine
):
    time_machine.move_to(END_OF_HOLDING - datetime.timedelta(seconds=1), tick=False)

    assert _release(pickup_point, plain_code(at_pickup_point), operator).delivered


@pytest.mark.parametrize("after", [datetime.timedelta(0), datetime.timedelta(seconds=1)])
def test_code_is_refused_once_the_holding_period_has_ended(
    at_pickup_point, pickup_point, operator, time_machine, after
):
    code = plain_code(at_pickup_point)
    time_machine.move_to(END_OF_HOLDING + after, tick=False)

    result = _release(pickup_point, code, operator)

    assert result.outcome == CodeEntry.Outcome.EXPIRED
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


# --- Which code the parcel is collected with ----------------------------------------------


def test_customer_keeps_the_code_from_shipping_when_it_is_still_valid(pickup_point, customer, ops):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    shipped_code = plain_code(shipment)

    shipment_receive_at_pickup_point(shipment=shipment, pickup_point=pickup_point, actor=ops)

    assert plain_code(shipment) == shipped_code
    assert DeliveryCode.objects.filter(shipment=shipment).count() == 1


def test_a_new_code_is_issued_when_the_old_one_expired_in_transit(
    pickup_point, customer, ops, time_machine
):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    old = DeliveryCode.objects.get(shipment=shipment)
    time_machine.move_to(datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC), tick=False)

    shipment_receive_at_pickup_point(shipment=shipment, pickup_point=pickup_point, actor=ops)

    old.refresh_from_db()
    new = DeliveryCode.objects.get(shipment=shipment, status="active")
    assert old.status == DeliveryCode.Status.REVOKED
    assert new.pickup_point == pickup_point
    assert new.valid_until == datetime.datetime(2026, 11, 30, 23, 0, tzinfo=datetime.UTC)


def test_a_parcel_needing_no_code_at_the_door_gets_one_at_the_point(
    pickup_point, customer, ops, operator
):
    shipment = make_parcel_at(pickup_point, customer, ops, price="20.00")

    assert shipment.requires_code is False
    assert _release(pickup_point, plain_code(shipment), operator).delivered


def test_customer_is_emailed_the_code_point_and_last_day_on_arrival(
    pickup_point, customer, ops, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        shipment = make_parcel_at(pickup_point, customer, ops)

    message = mail.outbox[-1]
    code = plain_code(shipment)
    assert message.to == [customer.email]
    assert "Edicola Centrale" in message.subject
    assert f"{code[:3]} {code[3:]}" in message.body
    assert "Sunday 29 November 2026" in message.body
    assert "Piazza Colonna 1" in message.body


# --- No two active codes equal at one point -----------------------------------------------


def test_generator_collision_at_a_point_is_drawn_again(
    pickup_point, customer, ops, monkeypatch, time_machine
):
    first = make_parcel_at(pickup_point, customer, ops)
    taken = plain_code(first)
    # The second parcel's code expires in transit, so a fresh one is drawn on arrival.
    second = make_valuable_shipment(customer)
    second.pickup_point = pickup_point
    second.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=second, actor=ops, delivery_day=TODAY)
    time_machine.move_to(datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC), tick=False)
    free = _unused_code(taken)
    draws = iter([taken, free])
    monkeypatch.setattr(tokens, "generate_code", lambda: next(draws))

    shipment_receive_at_pickup_point(shipment=second, pickup_point=pickup_point, actor=ops)

    assert plain_code(second) == free
    assert plain_code(first) == taken


def test_a_kept_code_that_would_collide_at_the_point_is_replaced(
    pickup_point, customer, ops, monkeypatch
):
    first = make_parcel_at(pickup_point, customer, ops)
    taken = plain_code(first)
    free = _unused_code(taken)
    draws = iter([taken, free])
    monkeypatch.setattr(tokens, "generate_code", lambda: next(draws))
    second = make_valuable_shipment(customer)
    second.pickup_point = pickup_point
    second.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=second, actor=ops, delivery_day=TODAY)  # draws `taken`

    shipment_receive_at_pickup_point(shipment=second, pickup_point=pickup_point, actor=ops)

    assert plain_code(second) == free
    assert DeliveryCode.objects.get(shipment=second, status="revoked").code_hash == (
        tokens.code_hash(taken)
    )


def test_equal_codes_may_be_active_at_different_points(
    pickup_point, other_point, customer, ops, monkeypatch
):
    monkeypatch.setattr(tokens, "generate_code", lambda: "135792")

    here = make_parcel_at(pickup_point, customer, ops)
    there = make_parcel_at(other_point, customer, ops)

    assert plain_code(here) == plain_code(there) == "135792"


def test_no_two_active_codes_are_equal_at_one_point(pickup_point, customer, ops):
    parcels = [make_parcel_at(pickup_point, customer, ops) for _ in range(12)]

    hashes = DeliveryCode.objects.filter(pickup_point=pickup_point, status="active").values_list(
        "code_hash", flat=True
    )
    assert len(set(hashes)) == len(parcels)


def test_the_arrival_email_goes_through_the_code_email_outbox(at_pickup_point):
    email = CodeEmail.objects.get(code__shipment=at_pickup_point, purpose="at_pickup_point")

    assert email.sent_at is not None


def test_the_code_sent_again_at_a_point_says_where_and_until_when_to_collect(
    at_pickup_point, frozen_now, django_capture_on_commit_callbacks
):
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        code_resend(shipment=at_pickup_point, now=frozen_now)

    assert "ready for collection at Edicola Centrale" in mail.outbox[0].subject
    assert "Collect it by Sunday 29 November 2026" in mail.outbox[0].body
    assert plain_code(at_pickup_point)[:3] in mail.outbox[0].body
