"""The one read a code entry at the door makes under its locks, on the courier's hot path.

Everything the entry decides on, in one statement begun after the person's and the
parcel's locks were granted: the parcel's current code, the person's block and their wrong
codes so far, the parcel's hold, whether the entry equals an earlier code of the parcel,
and the person's stop for the parcel on its delivery day.
"""

from dataclasses import dataclass

from django.db.models import QuerySet, Subquery

from codes.models import DeliveryCode
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


def _their_stop(shipment: Shipment, user) -> QuerySet[Stop]:
    """The parcel's stop on the person's own route on its delivery day (at most one that
    was not moved away)."""
    return (
        Stop.objects.filter(shipment=shipment, day=shipment.delivery_day, route__courier__user=user)
        .exclude(outcome=Stop.Outcome.MOVED)
        .order_by()
    )


def door_entry_state(*, shipment: Shipment, plain: str, user, now) -> DoorEntryState:
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
