"""The one read a code entry at the door makes under its locks, on the courier's hot path.

Everything the entry decides on, in one statement begun after the person's and the
parcel's locks were granted: the parcel's current code, the person's block and their wrong
codes so far, the parcel's hold, whether the entry equals an earlier code of the parcel,
and the person's stop for the parcel on its delivery day.

On PostgreSQL it is SQL written once here: building and compiling the same query with the
ORM on every entry cost more CPU than running it. `door_entry_state_with_orm` is the same
read through the ORM (codes.services.code_entry_state), used on other databases, and
tests/handoff/test_entry_state.py checks that the two agree.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet, Subquery

from codes import tokens
from codes.models import CodeEntry, DeliveryCode
from codes.selectors import person_is_blocked
from codes.services import code_entry_state
from couriers.models import Stop
from orders.models import Shipment


@dataclass(frozen=True)
class DoorEntryState:
    # The parcel's current code with parcel_is_held, matches_an_earlier_code and
    # wrong_codes_by_person set on it (code_entry_check reads them); None if it never had one.
    code: DeliveryCode | None
    person_is_blocked: bool
    # The parcel's stop on the person's own route on its delivery day (None: not theirs).
    their_stop: Stop | None


_CODE_COLUMNS = [field.column for field in DeliveryCode._meta.concrete_fields]

_SQL = f"""
SELECT
    {", ".join(f"code.{column}" for column in _CODE_COLUMNS)},
    EXISTS (
        SELECT 1 FROM codes_parcelhold AS hold
        WHERE hold.shipment_id = %(shipment)s AND hold.released_at IS NULL
    ) AS parcel_is_held,
    EXISTS (
        SELECT 1 FROM codes_deliverycode AS other
        WHERE other.shipment_id = %(shipment)s AND other.code_hash = %(code_hash)s
            AND other.id <> code.id
    ) AS matches_an_earlier_code,
    (
        SELECT count(*) FROM codes_codeentry AS entry
        WHERE entry.user_id = %(user)s AND entry.outcome = %(wrong)s
            AND entry.created_at >= %(since)s AND entry.created_at <= %(now)s
            -- after operations last lifted a block of theirs, if ever
            AND NOT EXISTS (
                SELECT 1 FROM codes_entryblock AS lifted
                WHERE lifted.user_id = %(user)s AND lifted.lifted_at >= entry.created_at
            )
    ) AS wrong_codes_by_person,
    EXISTS (
        SELECT 1 FROM codes_entryblock AS block
        WHERE block.user_id = %(user)s AND block.lifted_at IS NULL
    ) AS person_is_blocked,
    stop.id AS their_stop_id,
    stop.outcome AS their_stop_outcome
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT * FROM codes_deliverycode
    WHERE shipment_id = %(shipment)s
    ORDER BY issued_at DESC, id DESC
    LIMIT 1
) AS code ON true
LEFT JOIN LATERAL (
    SELECT stop.id, stop.outcome
    FROM couriers_stop AS stop
    JOIN couriers_route AS route ON route.id = stop.route_id
    JOIN couriers_courier AS courier ON courier.id = route.courier_id
    WHERE stop.shipment_id = %(shipment)s AND stop.day = %(day)s
        AND stop.outcome <> %(moved)s AND courier.user_id = %(user)s
) AS stop ON true
"""  # noqa: S608 (column names from the model, values as parameters)


def door_entry_state(*, shipment: Shipment, plain: str, user, now) -> DoorEntryState:
    if connection.vendor != "postgresql":
        return door_entry_state_with_orm(shipment=shipment, plain=plain, user=user, now=now)
    window = datetime.timedelta(minutes=settings.COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES)
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL,
            {
                "shipment": shipment.pk,
                "user": user.pk,
                "code_hash": tokens.code_hash(plain),
                "wrong": CodeEntry.Outcome.WRONG,
                "since": now - window,
                "now": now,
                "day": shipment.delivery_day,
                "moved": Stop.Outcome.MOVED,
            },
        )
        row = cursor.fetchone()
    code_values = row[: len(_CODE_COLUMNS)]
    held, earlier, wrong_so_far, blocked, stop_id, stop_outcome = row[len(_CODE_COLUMNS) :]
    code = None
    if code_values[0] is not None:
        code = DeliveryCode.from_db(
            connection.alias,
            [field.attname for field in DeliveryCode._meta.concrete_fields],
            code_values,
        )
        code.parcel_is_held = held
        code.matches_an_earlier_code = earlier
        code.wrong_codes_by_person = wrong_so_far
    return DoorEntryState(
        code=code,
        person_is_blocked=blocked,
        their_stop=None if stop_id is None else Stop(pk=stop_id, outcome=stop_outcome),
    )


def _their_stop(shipment: Shipment, user) -> QuerySet[Stop]:
    """The parcel's stop on the person's own route on its delivery day (at most one that
    was not moved away)."""
    return (
        Stop.objects.filter(shipment=shipment, day=shipment.delivery_day, route__courier__user=user)
        .exclude(outcome=Stop.Outcome.MOVED)
        .order_by()
    )


def door_entry_state_with_orm(*, shipment: Shipment, plain: str, user, now) -> DoorEntryState:
    """The same read through the ORM."""
    their_stop = _their_stop(shipment, user)
    code = (
        code_entry_state(shipment=shipment, plain=plain, user=user, now=now)
        .annotate(
            their_stop_id=Subquery(their_stop.values("pk")[:1]),
            their_stop_outcome=Subquery(their_stop.values("outcome")[:1]),
        )
        .first()
    )
    if code is None:
        # A parcel that never had a code: the facts the code row would have carried.
        stop = their_stop.only("pk", "outcome").first()
        return DoorEntryState(
            code=None, person_is_blocked=person_is_blocked(user=user), their_stop=stop
        )
    return DoorEntryState(
        code=code,
        person_is_blocked=code.person_is_blocked,
        their_stop=None
        if code.their_stop_id is None
        else Stop(pk=code.their_stop_id, outcome=code.their_stop_outcome),
    )
