"""The entry's one read under its locks: the SQL on PostgreSQL agrees with the ORM's."""

import datetime

import pytest

from codes import tokens
from codes.models import CodeEmail, CodeEntry, DeliveryCode, EntryBlock, ParcelHold
from couriers.models import Stop
from handoff.entry_state import door_entry_state, door_entry_state_with_orm
from tests.conftest import FROZEN_NOW, plain_code, wrong_code_for
from tests.factories import CourierFactory, RouteFactory

pytestmark = pytest.mark.django_db

MINUTES = datetime.timedelta(minutes=1)


def _wrong_entries(user, shipment, *, ago_minutes):
    for minutes in ago_minutes:
        CodeEntry.objects.create(
            shipment=shipment, user=user, outcome="wrong", created_at=FROZEN_NOW - minutes * MINUTES
        )


def _given(state, *, shipment, courier):
    """Bring the parcel or the person to `state`; the code to enter."""
    code = DeliveryCode.objects.get(shipment=shipment)
    plain = plain_code(shipment)
    if state == "held":
        ParcelHold.objects.create(shipment=shipment, held_at=FROZEN_NOW, wrong_code_entries=10)
    elif state == "locked":
        DeliveryCode.objects.filter(pk=code.pk).update(status="locked", wrong_attempts=5)
    elif state == "earlier code":
        # An older, revoked code of the parcel whose digits the customer reads out
        earlier = wrong_code_for(shipment)
        code.pk = None
        code.status = "revoked"
        code.code_hash = tokens.code_hash(earlier)
        code.issued_at = FROZEN_NOW - 60 * MINUTES
        code.save(force_insert=True)
        return earlier
    elif state == "blocked":
        EntryBlock.objects.create(user=courier.user, wrong_entries=10, blocked_at=FROZEN_NOW)
    elif state == "wrong codes, one block lifted":
        _wrong_entries(courier.user, shipment, ago_minutes=[50, 20, 10, 5, 90])
        EntryBlock.objects.create(
            user=courier.user,
            wrong_entries=3,
            blocked_at=FROZEN_NOW - 45 * MINUTES,
            lifted_at=FROZEN_NOW - 30 * MINUTES,
        )
    elif state == "on another courier's route":
        other = RouteFactory(courier=CourierFactory(), day=shipment.delivery_day)
        Stop.objects.filter(shipment=shipment).update(route=other)
    elif state == "stop moved away":
        Stop.objects.filter(shipment=shipment).update(outcome="moved")
    elif state == "no code at all":
        CodeEmail.objects.filter(code__shipment=shipment).delete()
        DeliveryCode.objects.filter(shipment=shipment).delete()
    return plain


def _facts(state):
    code = state.code
    return {
        "code": None
        if code is None
        else (
            code.pk,
            code.status,
            code.code_hash,
            code.valid_until,
            code.pickup_point_id,
            code.wrong_attempts,
            bool(code.parcel_is_held),
            bool(code.matches_an_earlier_code),
            code.wrong_codes_by_person,
        ),
        "blocked": bool(state.person_is_blocked),
        "stop": None
        if state.their_stop is None
        else (state.their_stop.pk, state.their_stop.outcome),
    }


@pytest.mark.parametrize(
    "state",
    [
        "as issued",
        "held",
        "locked",
        "earlier code",
        "blocked",
        "wrong codes, one block lifted",
        "on another courier's route",
        "stop moved away",
        "no code at all",
    ],
)
def test_the_sql_read_agrees_with_the_orms(postgresql_only, courier, out_for_delivery, state):
    # Given a parcel or a person in `state`
    plain = _given(state, shipment=out_for_delivery, courier=courier)

    # When both reads look at an entry of the code
    arguments = {
        "shipment": out_for_delivery,
        "plain": plain,
        "user": courier.user,
        "now": FROZEN_NOW,
    }
    with_sql = door_entry_state(**arguments)
    with_orm = door_entry_state_with_orm(**arguments)

    # Then they agree
    assert _facts(with_sql) == _facts(with_orm)


def test_only_wrong_codes_in_the_window_and_after_the_last_lift_count(courier, out_for_delivery):
    # Given wrong codes 90, 50, 20, 10 and 5 minutes ago, and a block lifted 30 minutes ago
    _given("wrong codes, one block lifted", shipment=out_for_delivery, courier=courier)

    # When the entry's state is read
    state = door_entry_state(
        shipment=out_for_delivery,
        plain=plain_code(out_for_delivery),
        user=courier.user,
        now=FROZEN_NOW,
    )

    # Then the three since the lift count (the window is an hour)
    assert state.code.wrong_codes_by_person == 3
