"""Every pair of the hand-over layer's actions on one parcel, fired at once on PostgreSQL,
20 times each: no server error and no deadlock, whoever wins (one lock order, and a
repeated action answers as done). A refusal (`REFUSALS`) is an answer, not an error."""

import datetime
from itertools import combinations_with_replacement

import pytest

from codes.models import CodeEntry, DeliveryCode
from couriers.models import DeliveryAttempt, Stop
from handoff.recipients import order_change_recipient
from handoff.services import (
    REFUSALS,
    EntryContext,
    shipment_change_delivery_day,
    shipment_drop_at_pickup_point,
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_hand_over_by_override,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
    shipments_day_end,
)
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, plain_code, race
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]

REPETITIONS = 20
TOMORROW = TODAY + datetime.timedelta(days=1)


def _at_the_door(world):
    shipment = make_valuable_shipment(world["customer"])
    shipment_mark_shipped(shipment=shipment, actor=world["ops"], delivery_day=TODAY)
    return shipment_mark_out_for_delivery(
        shipment=shipment, actor=world["ops"], route=world["route"]
    )


def _to_the_point(world):
    shipment = make_valuable_shipment(world["customer"])
    shipment.pickup_point = world["point"]
    shipment.save(update_fields=["pickup_point"])
    shipment_mark_shipped(shipment=shipment, actor=world["ops"], delivery_day=TODAY)
    return shipment_mark_out_for_delivery(
        shipment=shipment, actor=world["ops"], route=world["route"]
    )


# Each action gets the code read before the race: read inside a racing thread, the active
# code may be gone already (the other thread delivered the parcel, or gave it a new day).


def _other_than(code: str) -> str:
    return next(candidate for candidate in ("135792", "246813") if candidate != code)


def _right_code(world, shipment, code):
    return shipment_hand_over_at_door(
        shipment=shipment, raw_code=code, context=EntryContext(user=world["courier"].user)
    )


def _wrong_code(world, shipment, code):
    return shipment_hand_over_at_door(
        shipment=shipment,
        raw_code=_other_than(code),
        context=EntryContext(user=world["courier"].user),
    )


def _failed_attempt(world, shipment, code):
    return shipment_record_failed_attempt(
        shipment=shipment, courier=world["courier"], reason=DeliveryAttempt.Reason.NOT_AT_HOME
    )


def _override(world, shipment, code):
    return shipment_hand_over_by_override(
        shipment=shipment,
        context=EntryContext(user=world["ops"]),
        reason="Customer identified by passport at the depot.",
    )


def _redirect(world, shipment, code):
    return shipment_redirect_to_pickup_point(
        shipment=shipment, pickup_point=world["point"], actor=world["customer"]
    )


def _new_day(world, shipment, code):
    return shipment_change_delivery_day(
        shipment=shipment, delivery_day=TOMORROW, actor=world["ops"]
    )


def _drop(world, shipment, code):
    return shipment_drop_at_pickup_point(shipment=shipment, courier=world["courier"])


def _receipt(world, shipment, code):
    return shipment_receive_at_pickup_point(
        shipment=shipment, pickup_point=world["point"], actor=world["operator"]
    )


def _release_at_counter(world, shipment, code):
    return shipment_hand_over_at_counter(
        pickup_point=world["point"],
        raw_code=code,
        context=EntryContext(user=world["operator"]),
    )


def _day_end(world, shipment, code):
    return shipments_day_end()


def _recipient_change(world, shipment, code):
    return order_change_recipient(
        order=shipment.order,
        customer=world["customer"],
        email="new-address@example.com",
        language="it",
        actor=world["ops"],
        reason="The customer moved and asked for the codes at the new address.",
    )


# Every pair of what can happen to a parcel at the door, and to one waiting at a point.
DOOR_ACTIONS = [
    _right_code,
    _wrong_code,
    _failed_attempt,
    _override,
    _redirect,
    _new_day,
    _day_end,
    _recipient_change,
]
DOOR_PAIRS = list(combinations_with_replacement(DOOR_ACTIONS, 2))
POINT_PAIRS = [
    (_drop, _receipt),
    (_drop, _drop),
    (_receipt, _receipt),
]
WAITING_ACTIONS = [_release_at_counter, _receipt, _override, _day_end, _recipient_change]
WAITING_PAIRS = list(combinations_with_replacement(WAITING_ACTIONS, 2))


@pytest.fixture
def world(customer, courier, route, ops, operator, pickup_point):
    return {
        "customer": customer,
        "courier": courier,
        "route": route,
        "ops": ops,
        "operator": operator,
        "point": pickup_point,
    }


def _fire(world, shipment, pair):
    code = plain_code(shipment)
    _results, errors = race(lambda i: pair[i](world, shipment, code), 2)
    # Refusals are answers the pages turn into messages; anything else is a server error
    # (a deadlock would be psycopg's DeadlockDetected).
    return [error for error in errors if not isinstance(error, REFUSALS)]


@pytest.mark.parametrize(
    "pair", DOOR_PAIRS, ids=lambda pair: f"{pair[0].__name__}+{pair[1].__name__}"
)
def test_two_actions_at_the_door_at_once_never_fail(world, pair):
    for _ in range(REPETITIONS):
        shipment = _at_the_door(world)

        assert _fire(world, shipment, pair) == []

        shipment.refresh_from_db()
        successes = CodeEntry.objects.filter(
            shipment=shipment,
            outcome__in=[CodeEntry.Outcome.CORRECT, CodeEntry.Outcome.OVERRIDE],
        )
        assert successes.count() == (1 if shipment.status == Shipment.Status.DELIVERED else 0)
        assert shipment.events.filter(status=Shipment.Status.DELIVERED).count() <= 1
        assert DeliveryAttempt.objects.filter(shipment=shipment).count() <= 1
        assert _active_codes(shipment) == (0 if shipment.status == "delivered" else 1)


def _active_codes(shipment) -> int:
    return DeliveryCode.objects.filter(shipment=shipment, status=DeliveryCode.Status.ACTIVE).count()


@pytest.mark.parametrize(
    "pair", POINT_PAIRS, ids=lambda pair: f"{pair[0].__name__}+{pair[1].__name__}"
)
def test_two_arrivals_at_the_point_at_once_never_fail(world, pair):
    for _ in range(REPETITIONS):
        shipment = _to_the_point(world)

        assert _fire(world, shipment, pair) == []

        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.AT_PICKUP_POINT
        assert shipment.events.filter(status=Shipment.Status.AT_PICKUP_POINT).count() == 1
        assert Stop.objects.get(shipment=shipment).outcome == Stop.Outcome.DROPPED


def test_release_at_the_counter_and_a_second_receipt_at_once_never_fail(world):
    for _ in range(REPETITIONS):
        shipment = _to_the_point(world)
        _receipt(world, shipment, None)

        assert _fire(world, shipment, (_release_at_counter, _receipt)) == []

        shipment.refresh_from_db()
        assert shipment.status == Shipment.Status.DELIVERED


@pytest.mark.parametrize(
    "pair", WAITING_PAIRS, ids=lambda pair: f"{pair[0].__name__}+{pair[1].__name__}"
)
def test_two_actions_on_a_parcel_waiting_at_the_point_at_once_never_fail(world, pair):
    for _ in range(REPETITIONS):
        shipment = _to_the_point(world)
        _receipt(world, shipment, None)

        assert _fire(world, shipment, pair) == []

        shipment.refresh_from_db()
        assert shipment.status in {Shipment.Status.AT_PICKUP_POINT, Shipment.Status.DELIVERED}
        delivered = shipment.status == Shipment.Status.DELIVERED
        assert shipment.events.filter(status=Shipment.Status.DELIVERED).count() == int(delivered)
        assert _active_codes(shipment) == (0 if delivered else 1)


def test_a_right_code_and_a_move_to_another_courier_at_once_end_one_way_or_the_other(world):
    # Rule 10 and 14: the entry is recorded whoever wins, and checked only while it is his
    luca = CourierFactory(user=UserFactory(username="luca"))
    lucas_route = RouteFactory(courier=luca, day=TODAY)

    def move_to_luca(world, shipment, code):
        return shipment_move_to_route(shipment=shipment, route=lucas_route, actor=world["ops"])

    for _ in range(REPETITIONS):
        shipment = _at_the_door(world)

        assert _fire(world, shipment, (_right_code, move_to_luca)) == []

        shipment.refresh_from_db()
        (entry,) = CodeEntry.objects.filter(shipment=shipment)
        stops = Stop.objects.filter(shipment=shipment, day=TODAY).exclude(outcome="moved")
        if shipment.status == Shipment.Status.DELIVERED:
            # The entry came first: handed over by Marco; the move was refused
            assert entry.outcome == CodeEntry.Outcome.CORRECT
            assert stops.get().route == world["route"]
        else:
            # The move came first: the entry is recorded, not checked, the code unused
            assert entry.outcome == CodeEntry.Outcome.MOVED_AWAY
            assert stops.get().route == lucas_route
            assert _active_codes(shipment) == 1
