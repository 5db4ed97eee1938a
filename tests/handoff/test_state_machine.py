"""Every role's actions in random order, through the hand-over layer and through the
pages, across a change of daylight-saving time: after each step the roles must still agree
on one truth.

Hypothesis's RuleBasedStateMachine draws sequences of actions (ship, put on a route, send
out, right / wrong / earlier / malformed codes at the door and at the counter, failed
attempts, redirects, drops, receipts, day changes, day-end runs at random hours, moves to
another route, overrides, hold releases) and checks the invariants of PRODUCT.md rules 6,
7, 11, 13, 14 and 16 after every step. A refusal (`REFUSALS`) is a valid answer; any other
exception fails the test, and so does any server error of a page (the test client raises
it). Some rules go through the pages as people do (the courier's code at the door, the
customer's redirect, the operator's release) and some look at the pages (the customer's
status, the courier's stop, the operator's list) and check they say what the database says.
"""

import datetime
import itertools
import os
from contextlib import suppress

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from alerts.models import Alert
from codes import tokens
from codes.exceptions import CodeEntryNotAllowed
from codes.models import CodeEntry, DeliveryCode, EntryBlock, ParcelHold
from couriers.models import DeliveryAttempt, Route, Stop
from handoff.services import (
    REFUSALS,
    EntryContext,
    shipment_add_to_route,
    shipment_change_delivery_day,
    shipment_drop_at_pickup_point,
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_hand_over_by_override,
    shipment_hand_over_without_code,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
    shipment_release_hold,
    shipments_day_end,
)
from orders.days import local_today, next_working_day
from orders.models import Shipment, TrackingEvent

from ..conftest import ROME, make_valuable_shipment
from ..factories import CourierFactory, PickupPointFactory, UserFactory

# Friday before the clocks go back in Rome (Sunday 25 October 2026, 03:00 → 02:00).
START = datetime.datetime(2026, 10, 23, 8, 0, tzinfo=ROME)
PARCELS = 3
_names = itertools.count()

DELIVERED_OUTCOMES = {
    CodeEntry.Outcome.CORRECT,
    CodeEntry.Outcome.NO_CODE_NEEDED,
    CodeEntry.Outcome.OVERRIDE,
}

HANDED_OVER_FROM = {Shipment.Status.OUT_FOR_DELIVERY, Shipment.Status.AT_PICKUP_POINT}
CODE_KINDS = st.sampled_from(["right", "wrong", "earlier", "malformed"])

parcel_index = st.integers(min_value=0, max_value=PARCELS - 1)
courier_index = st.integers(min_value=0, max_value=1)


class ParcelLife(RuleBasedStateMachine):
    clock = None  # time_machine's fixture, set by the test

    @initialize()
    def world(self):
        n = next(_names)
        self.clock.move_to(START, tick=False)
        self.now = START
        self.ops = UserFactory(username=f"sm-ops-{n}", is_staff=True, is_superuser=True)
        self.customer = UserFactory(username=f"sm-customer-{n}")
        self.couriers = [
            CourierFactory(user=UserFactory(username=f"sm-courier-{n}-{i}")) for i in range(2)
        ]
        self.operator = UserFactory(username=f"sm-operator-{n}")
        self.point = PickupPointFactory(name=f"Edicola {n}")
        self.point.operators.add(self.operator)
        prices = ["500.00", "20.00", "800.00"]
        self.parcels = [make_valuable_shipment(self.customer, price=p) for p in prices]
        # The last parcel is addressed to the pickup point from the start.
        self.parcels[2].pickup_point = self.point
        self.parcels[2].save(update_fields=["pickup_point"])
        self.ids = [p.pk for p in self.parcels]
        self.wrong_counts = dict.fromkeys(self.ids, 0)
        self.finished_stops: dict[int, tuple] = {}
        # Each person signed in in their own browser.
        self.browsers = {}
        for person in [self.customer, self.operator, *(c.user for c in self.couriers)]:
            self.browsers[person.pk] = Client()
            self.browsers[person.pk].force_login(person)

    def _browser(self, person) -> Client:
        return self.browsers[person.pk]

    # --- helpers ---------------------------------------------------------------------

    def _parcel(self, i) -> Shipment:
        return Shipment.objects.get(pk=self.ids[i])

    def _today(self):
        return local_today(self.now)

    def _plain(self, code: DeliveryCode) -> str:
        return tokens.decrypt(code.code_encrypted)

    def _codes(self, shipment, **filters):
        return DeliveryCode.objects.filter(shipment=shipment, **filters).order_by(
            "-issued_at", "-pk"
        )

    def _route(self, courier_i, day) -> Route:
        return Route.objects.get_or_create(courier=self.couriers[courier_i], day=day)[0]

    def _raw_code(self, shipment, kind) -> str:
        codes = list(self._codes(shipment))
        if kind == "right" and codes:
            return self._plain(codes[0])
        if kind == "earlier" and len(codes) > 1:
            return self._plain(codes[-1])
        if kind == "malformed":
            return "12a456"
        taken = {self._plain(c) for c in codes}
        return next(c for c in ("135792", "246813", "975310", "864209") if c not in taken)

    def _move_clock(self, when):
        self.now = when
        self.clock.move_to(when, tick=False)

    # --- rules: operations -------------------------------------------------------------

    @rule(i=parcel_index, next_day=st.booleans())
    def ship(self, i, next_day):
        day = next_working_day(self._today()) if next_day else self._today()
        with suppress(*REFUSALS):
            shipment_mark_shipped(shipment=self._parcel(i), actor=self.ops, delivery_day=day)

    @rule(i=parcel_index, c=courier_index)
    def add_to_route(self, i, c):
        shipment = self._parcel(i)
        if shipment.delivery_day is None:
            return
        with suppress(*REFUSALS):
            shipment_add_to_route(
                shipment=shipment, route=self._route(c, shipment.delivery_day), actor=self.ops
            )

    @rule(i=parcel_index, c=courier_index)
    def move_to_route(self, i, c):
        shipment = self._parcel(i)
        if shipment.delivery_day is None:
            return
        with suppress(*REFUSALS):
            shipment_move_to_route(
                shipment=shipment, route=self._route(c, shipment.delivery_day), actor=self.ops
            )

    @rule(i=parcel_index)
    def send_out(self, i):
        with suppress(*REFUSALS):
            shipment_mark_out_for_delivery(shipment=self._parcel(i), actor=self.ops)

    @rule(i=parcel_index, c=courier_index)
    def morning_round(self, i, c):
        """What operations do in a row each morning: ship for today if not yet shipped, put
        on a courier's route of its day, send out (so that sequences reach the road, and
        the pickup point's parcel the van, more often than three separate draws would)."""
        with suppress(*REFUSALS):
            shipment_mark_shipped(
                shipment=self._parcel(i), actor=self.ops, delivery_day=self._today()
            )
        self.add_to_route(i, c)
        self.send_out(i)

    @rule(i=parcel_index, days=st.integers(min_value=0, max_value=3))
    def change_day(self, i, days):
        day = self._today() + datetime.timedelta(days=days)
        with suppress(*REFUSALS):
            shipment_change_delivery_day(shipment=self._parcel(i), delivery_day=day, actor=self.ops)

    @rule(i=parcel_index)
    def override(self, i):
        shipment = self._parcel(i)
        if shipment.status not in {
            Shipment.Status.OUT_FOR_DELIVERY,
            Shipment.Status.AT_PICKUP_POINT,
        }:
            return
        shipment_hand_over_by_override(
            shipment=shipment,
            context=EntryContext(user=self.ops),
            reason="Identity checked against the customer's passport.",
        )

    @rule(i=parcel_index)
    def release_hold(self, i):
        shipment_release_hold(shipment=self._parcel(i), actor=self.ops)

    # --- rules: courier, operator, customer --------------------------------------------

    @rule(
        i=parcel_index,
        c=courier_index,
        kind=CODE_KINDS,
    )
    def code_at_the_door(self, i, c, kind):
        shipment = self._parcel(i)
        context = EntryContext(user=self.couriers[c].user)
        with suppress(*REFUSALS, CodeEntryNotAllowed):
            if shipment.requires_code:
                shipment_hand_over_at_door(
                    shipment=shipment, raw_code=self._raw_code(shipment, kind), context=context
                )
            else:
                shipment_hand_over_without_code(shipment=shipment, context=context)

    @rule(i=parcel_index, kind=CODE_KINDS)
    def code_at_the_counter(self, i, kind):
        shipment_hand_over_at_counter(
            pickup_point=self.point,
            raw_code=self._raw_code(self._parcel(i), kind),
            context=EntryContext(user=self.operator),
        )

    @rule(i=parcel_index, c=courier_index, reason=st.sampled_from(DeliveryAttempt.Reason.values))
    def failed_attempt(self, i, c, reason):
        with suppress(*REFUSALS):
            shipment_record_failed_attempt(
                shipment=self._parcel(i), courier=self.couriers[c], reason=reason
            )

    @rule(i=parcel_index)
    def redirect(self, i):
        with suppress(*REFUSALS):
            shipment_redirect_to_pickup_point(
                shipment=self._parcel(i), pickup_point=self.point, actor=self.customer
            )

    @rule(i=parcel_index, c=courier_index)
    def drop(self, i, c):
        with suppress(*REFUSALS):
            shipment_drop_at_pickup_point(shipment=self._parcel(i), courier=self.couriers[c])

    @rule(i=parcel_index)
    def receive(self, i):
        with suppress(*REFUSALS):
            shipment_receive_at_pickup_point(
                shipment=self._parcel(i), pickup_point=self.point, actor=self.operator
            )

    # --- rules: the same people through the pages ---------------------------------------

    @rule(i=parcel_index, c=courier_index, kind=CODE_KINDS)
    def code_at_the_door_on_the_stop_page(self, i, c, kind):
        shipment = self._parcel(i)
        response = self._browser(self.couriers[c].user).post(
            reverse("courier_stop", args=[shipment.tracking_number]),
            {"code": self._raw_code(shipment, kind)},
        )
        # 404: never this courier's stop today; 302/200: an answer on the page (a stop
        # moved to another courier: back to the list, saying so).
        assert response.status_code in {200, 302, 404}

    @rule(i=parcel_index)
    def redirect_on_the_tracking_page(self, i):
        shipment = self._parcel(i)
        response = self._browser(self.customer).post(
            reverse("track_redirect", args=[shipment.tracking_number]),
            {"pickup_point": self.point.pk},
        )
        assert response.status_code == 302

    @rule(i=parcel_index, kind=CODE_KINDS)
    def release_on_the_point_page(self, i, kind):
        response = self._browser(self.operator).post(
            reverse("pickup_point", args=[self.point.pk]),
            {"code": self._raw_code(self._parcel(i), kind)},
        )
        assert response.status_code in {200, 302}

    @rule(i=parcel_index)
    def customer_looks(self, i):
        shipment = self._parcel(i)
        page = self._browser(self.customer).get(reverse("track", args=[shipment.tracking_number]))
        # Rule 15: on its way to a point is `shipped`, also on the van to the point.
        on_its_way = shipment.pickup_point_id is not None and shipment.status in {
            Shipment.Status.SHIPPED,
            Shipment.Status.OUT_FOR_DELIVERY,
        }
        shown = Shipment.Status.SHIPPED if on_its_way else shipment.status
        assert f'data-shipment-status="{shown}"' in page.content.decode()

    @rule(i=parcel_index, c=courier_index)
    def courier_looks(self, i, c):
        shipment = self._parcel(i)
        courier = self.couriers[c]
        page = self._browser(courier.user).get(
            reverse("courier_stop", args=[shipment.tracking_number])
        )
        stops = Stop.objects.filter(shipment=shipment, day=self._today(), route__courier=courier)
        stop = stops.exclude(outcome=Stop.Outcome.MOVED).first()
        if stop is None:
            # A stop moved to another courier sends back to the list, saying so (rule 14);
            # a parcel never on the courier's route is not found.
            moved_away = stops.filter(outcome=Stop.Outcome.MOVED).exists()
            assert page.status_code == (302 if moved_away else 404)
            return
        assert page.status_code == 200
        newest = self._codes(shipment).first()
        closed = (
            EntryBlock.objects.filter(user=courier.user, lifted_at__isnull=True).exists()
            or ParcelHold.objects.filter(shipment=shipment, released_at__isnull=True).exists()
            or (newest is not None and newest.status == DeliveryCode.Status.LOCKED)
        )
        if closed and shipment.status == Shipment.Status.OUT_FOR_DELIVERY:
            # Rule 15: no code field to type into, and the reason in an alert.
            html = page.content.decode()
            assert 'name="code"' not in html
            assert 'role="alert"' in html

    @rule()
    def operator_looks(self):
        page = self._browser(self.operator).get(reverse("pickup_point", args=[self.point.pk]))
        html = page.content.decode()
        waiting_here = html[html.index("waiting-card") : html.index("receipt-card")]
        for shipment in Shipment.objects.filter(pk__in=self.ids):
            waiting = (
                shipment.status == Shipment.Status.AT_PICKUP_POINT
                and shipment.pickup_point_id == self.point.pk
            )
            # The point's list of parcels waiting there is the database's.
            listed = f'data-tracking-number="{shipment.tracking_number}"' in waiting_here
            assert listed == waiting, shipment

    # --- rules: time -------------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=6))
    def time_passes(self, hours):
        self._move_clock(self.now + datetime.timedelta(hours=hours))

    @rule(hour=st.integers(min_value=0, max_value=23))
    def day_end_next_day(self, hour):
        # The next local day at a random hour: across the DST change the local clock, not
        # UTC + 24 h, says which day it is.
        day = self._today() + datetime.timedelta(days=1)
        self._move_clock(datetime.datetime.combine(day, datetime.time(hour), tzinfo=ROME))
        shipments_day_end(now=self.now)

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def the_roles_agree(self):
        if not hasattr(self, "ids"):
            return
        open_alerts = Alert.objects.filter(resolved_at__isnull=True)
        for courier in self.couriers:
            if EntryBlock.objects.filter(user=courier.user, lifted_at__isnull=True).exists():
                assert open_alerts.filter(
                    kind=Alert.Kind.PERSON_BLOCKED, person=courier.user
                ).exists()
        for shipment in Shipment.objects.filter(pk__in=self.ids):
            active = list(self._codes(shipment, status=DeliveryCode.Status.ACTIVE))
            # Rule 11: at most one active code (the database refuses a second one too).
            assert len(active) <= 1
            # Rule 13: a usable code is for the parcel's day.
            for code in active:
                if code.valid_until > self.now:
                    assert code.delivery_day == shipment.delivery_day, shipment
            # Rule 7: delivered once, with no code left to use.
            successes = CodeEntry.objects.filter(shipment=shipment, outcome__in=DELIVERED_OUTCOMES)
            if shipment.status == Shipment.Status.DELIVERED:
                assert successes.count() == 1
                assert not active
            else:
                assert not successes.exists()
            # Rule 15: a parcel bound for a pickup point is on its way there until it
            # arrives, for every role alike: never a failed delivery (a redirect after a
            # failed attempt, a drop missed on its day).
            if shipment.pickup_point_id is not None:
                assert shipment.status != Shipment.Status.DELIVERY_FAILED, shipment
            # Rule 6: wrong-code counts never go down.
            assert shipment.wrong_code_entries >= self.wrong_counts[shipment.pk]
            self.wrong_counts[shipment.pk] = shipment.wrong_code_entries
            # Every status change has its event: the timeline ends on the current status.
            last = (
                TrackingEvent.objects.filter(shipment=shipment).order_by("created_at", "pk").last()
            )
            if shipment.status == Shipment.Status.PROCESSING:
                assert last is None
            else:
                assert last is not None
                assert last.status == shipment.status
            # Rule 13: out for delivery on exactly one route, of its day, today.
            stops = Stop.objects.filter(shipment=shipment).exclude(outcome=Stop.Outcome.MOVED)
            if shipment.status == Shipment.Status.OUT_FOR_DELIVERY:
                todays = stops.filter(day=shipment.delivery_day)
                assert todays.count() == 1
                assert todays.get().route.day == shipment.delivery_day
            # Rule 14: one route a day.
            days = list(stops.values_list("day", flat=True))
            assert len(days) == len(set(days))
            # Rule 15: an open hold, and a locked current code, each have an open alert.
            if ParcelHold.objects.filter(shipment=shipment, released_at__isnull=True).exists():
                assert open_alerts.filter(kind=Alert.Kind.PARCEL_HELD, shipment=shipment).exists()
            newest = self._codes(shipment).first()
            if newest is not None and newest.status == DeliveryCode.Status.LOCKED:
                assert open_alerts.filter(kind=Alert.Kind.CODE_LOCKED, shipment=shipment).exists()
        # Rule 14: a finished stop never changes and never goes away.
        for stop in Stop.objects.filter(shipment_id__in=self.ids).exclude(
            outcome=Stop.Outcome.PENDING
        ):
            record = (stop.outcome, stop.note, stop.pickup_point_id, stop.finished_at, stop.day)
            assert self.finished_stops.setdefault(stop.pk, record) == record
        remaining = set(
            Stop.objects.filter(pk__in=self.finished_stops).values_list("pk", flat=True)
        )
        assert remaining == set(self.finished_stops)


@pytest.mark.django_db
# Thirty sequences of 25 steps (always the same ones: derandomized) take about 15 s of the
# suite on a quiet machine; STATE_MACHINE_EXAMPLES=200 runs a deeper search by hand (90 s).
def test_every_role_sees_the_same_truth_whatever_the_order(time_machine, settings_fast_limits):
    ParcelLife.clock = time_machine
    run_state_machine_as_test(
        ParcelLife,
        settings=settings(
            max_examples=int(os.environ.get("STATE_MACHINE_EXAMPLES", "30")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            derandomize=True,
        ),
    )


@pytest.fixture
def settings_fast_limits(settings):
    """Low limits, so that random sequences reach locks, holds and blocks."""
    settings.CODE_MAX_WRONG_ATTEMPTS = 2
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 3
    settings.COURIER_MAX_WRONG_ATTEMPTS = 4
    return settings
