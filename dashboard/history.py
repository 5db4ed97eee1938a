"""Thirty days of plausible demo history, made through the same services people use, with
the clock moved to each moment, so that a newcomer sees real charts on the dashboard.

Couriers ship, take parcels out, read codes (now and then a wrong one, one courier more
often than the others), fail attempts, lock codes, get a parcel held and released by an
override; pickup points receive parcels and hand them over against their code; the
day-end sweep runs after each midnight. Nothing is carried into today: the demo world of
`seed_demo` stays exactly as PRODUCT.md describes it.
"""

import datetime
import random
from contextlib import contextmanager
from decimal import Decimal
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F

from codes import tokens
from codes.models import CodeEmail, DeliveryCode, EntryBlock
from codes.services import EntryContext, entry_block_lift
from couriers.models import Courier, DeliveryAttempt, PickupPoint, Route
from handoff.services import (
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_hand_over_by_override,
    shipment_hand_over_without_code,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
)
from handoff.tasks import day_end
from orders.days import delivery_time_zone, next_working_day
from orders.models import Order, OrderItem, Shipment

User = get_user_model()
Status = Shipment.Status

ORDER_PREFIX = "HIST-"
HISTORY_DAYS = 30

# People who exist only in the history (no password: nobody signs in as them).
COURIERS = [("luca", "Luca", "Bianchi"), ("sara", "Sara", "Gallo"), ("davide", "Davide", "Ferri")]
CUSTOMERS = [
    ("chiara", "Chiara", "Romano"),
    ("paolo", "Paolo", "Esposito"),
    ("elena", "Elena", "Ricci"),
    ("matteo", "Matteo", "Marino"),
    ("giorgia", "Giorgia", "Greco"),
]
SECOND_POINT = {
    "name": "Tabaccheria Sud",
    "address": "Via Appia Nuova 210\n00183 Roma RM",
    "opening_hours": "Mon–Sat 08:00–20:00",
}
# How often each courier misreads or mistypes a code (Davide stands out on the dashboard).
WRONG_CODE_ODDS = {"marco": 0.04, "luca": 0.06, "sara": 0.03, "davide": 0.5}
ITEMS = [
    ("Smartphone", "899.00"),
    ("Headphones", "349.00"),
    ("Camera", "649.00"),
    ("Watch", "450.00"),
    ("Tablet", "529.00"),
    ("Phone case", "19.90"),
    ("Book", "24.00"),
]


class Clock:
    """What `timezone.now()` answers while the history is written."""

    def __init__(self):
        self.at = None

    def __call__(self) -> datetime.datetime:
        return self.at

    def set(self, day: datetime.date, hour: int, minute: int = 0) -> None:
        self.at = datetime.datetime.combine(
            day, datetime.time(hour, minute), tzinfo=delivery_time_zone()
        ).astimezone(datetime.UTC)


@contextmanager
def moved_clock():
    clock = Clock()
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


def _plain_code(shipment: Shipment) -> str | None:
    code = DeliveryCode.objects.filter(shipment=shipment, status=DeliveryCode.Status.ACTIVE).first()
    return tokens.decrypt(code.code_encrypted) if code else None


def _wrong_code(right: str, rng: random.Random) -> str:
    while True:
        wrong = f"{rng.randrange(1_000_000):06d}"
        if wrong != right:
            return wrong


class History:
    def __init__(
        self, *, today: datetime.date, days: int, people: dict, point: PickupPoint, seed: int = 14
    ):
        self.today = today
        self.rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        self.admin = people["admin"]
        self.point = point
        self.operator = people["edicola"]
        self.couriers = self._couriers(people["marco"])
        self.customers = self._customers()
        self.second_point, self.second_operator = self._second_point()
        self.number = 0
        # Parcels that failed and go out again on their new day, and parcels at a point.
        self.again: list[Shipment] = []
        self.waiting_at_points: list[Shipment] = []
        self.held: Shipment | None = None
        self.hold_done = False
        # The parcel held after ten wrong codes: a third of the way back, within the days.
        self.hold_day = today - datetime.timedelta(days=max(days // 3, 4))
        self.alert_open = None
        if apps.is_installed("alerts"):
            from alerts.services import alert_open

            self.alert_open = alert_open

    # --- People and places ------------------------------------------------------------------

    def _user(self, username, first_name, last_name):
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        return user

    def _couriers(self, marco) -> list[Courier]:
        couriers = [Courier.objects.get_or_create(user=marco)[0]]
        for username, first_name, last_name in COURIERS:
            user = self._user(username, first_name, last_name)
            couriers.append(Courier.objects.get_or_create(user=user)[0])
        return couriers

    def _customers(self):
        return [self._user(*details) for details in CUSTOMERS]

    def _second_point(self):
        point, _ = PickupPoint.objects.get_or_create(
            name=SECOND_POINT["name"], defaults=SECOND_POINT
        )
        operator = self._user("tabaccheria", "Luca", "Conti")
        point.operators.add(operator)
        return point, operator

    # --- One parcel ---------------------------------------------------------------------------

    def _parcel(self, day: datetime.date, *, pickup_point=None) -> Shipment:
        self.number += 1
        customer = self.rng.choice(self.customers)
        order = Order.objects.create(
            number=f"{ORDER_PREFIX}{day:%Y%m%d}-{self.number}",
            customer=customer,
            email=customer.email,
            delivery_address="Via del Corso 100\n00186 Roma RM",
        )
        name, price = self.rng.choice(ITEMS)
        OrderItem.objects.create(order=order, name=name, unit_price=Decimal(price))
        return Shipment.objects.create(order=order, pickup_point=pickup_point)

    def _route(self, courier: Courier, day: datetime.date) -> Route:
        return Route.objects.get_or_create(courier=courier, day=day)[0]

    def _send_out(self, shipment: Shipment, courier: Courier, day: datetime.date) -> Shipment:
        # A failed attempt already put the parcel on its courier's route for the new day;
        # this courier takes it (moved, as operations would, by the hand-over layer).
        shipment_move_to_route(shipment=shipment, route=self._route(courier, day), actor=self.admin)
        return shipment_mark_out_for_delivery(shipment=shipment, actor=self.admin)

    def _at_door(self, clock, shipment, courier, day, *, last_day: bool) -> None:
        """One visit: maybe a wrong code or two, then handed over, or a failed attempt."""
        user = courier.user
        context = EntryContext(user=user)
        right = _plain_code(shipment)
        odds = WRONG_CODE_ODDS.get(user.username, 0.05)
        if right is None:
            # A cheap parcel: no code needed.
            shipment_hand_over_without_code(shipment=shipment, context=context)
            return
        roll = self.rng.random()
        if not last_day and roll < 0.1:
            reason = self.rng.choice(list(DeliveryAttempt.Reason.values[:3]))
            shipment_record_failed_attempt(shipment=shipment, courier=courier, reason=reason)
            self.again.append(shipment)
            return
        if not last_day and roll < 0.12:
            # The customer reads an old email: wrong codes until the code locks.
            for _ in range(5):
                shipment_hand_over_at_door(
                    shipment=shipment, raw_code=_wrong_code(right, self.rng), context=context
                )
                clock.at += datetime.timedelta(minutes=1)
            shipment_record_failed_attempt(
                shipment=shipment, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
            )
            self.again.append(shipment)
            return
        if self.rng.random() < 0.03:
            shipment_hand_over_at_door(
                shipment=shipment, raw_code="12 34", context=context
            )  # malformed
        while self.rng.random() < odds:
            shipment_hand_over_at_door(
                shipment=shipment, raw_code=_wrong_code(right, self.rng), context=context
            )
            clock.at += datetime.timedelta(minutes=2)
        if self.rng.random() < 0.02:
            shipment_hand_over_by_override(
                shipment=shipment,
                context=EntryContext(user=self.admin),
                reason="Customer lost the email; identity checked on the phone.",
            )
            return
        shipment_hand_over_at_door(shipment=shipment, raw_code=right, context=context)
        if self.alert_open is not None and self.rng.random() < 0.01:
            self.alert_open(
                kind="customer_report", shipment=shipment, details="This was not me (demo)."
            )

    def _wrong_codes(self, clock, shipment, courier, count: int) -> None:
        right = _plain_code(shipment)
        for _ in range(count):
            clock.at += datetime.timedelta(minutes=3)
            shipment_hand_over_at_door(
                shipment=shipment,
                raw_code=_wrong_code(right, self.rng),
                context=EntryContext(user=courier.user),
            )

    def _to_be_held(self, clock, day: datetime.date) -> None:
        """Once in the history, day one: five wrong codes lock the parcel's code and the
        courier records that the customer could not give it."""
        courier = self.couriers[3]
        shipment = self._parcel(day)
        clock.set(day, 7)
        shipment_mark_shipped(shipment=shipment, actor=self.admin, delivery_day=day)
        clock.set(day, 8)
        self._send_out(shipment, courier, day)
        clock.set(day, 11)
        self._wrong_codes(clock, shipment, courier, 5)
        shipment_record_failed_attempt(
            shipment=shipment, courier=courier, reason=DeliveryAttempt.Reason.NO_CODE
        )
        self.held = shipment

    def _held_then_overridden(self, clock, day: datetime.date) -> None:
        """Day two: five more wrong codes with the new code hold the parcel (ten in all);
        operations hand it over by override in the afternoon, identity checked."""
        shipment, self.held = Shipment.objects.get(pk=self.held.pk), None
        courier = self.couriers[3]
        clock.set(day, 8, 45)
        self._send_out(shipment, courier, day)
        clock.set(day, 11)
        self._wrong_codes(clock, shipment, courier, 5)
        clock.set(day, 17)
        shipment_hand_over_by_override(
            shipment=shipment,
            context=EntryContext(user=self.admin),
            reason="Customer came to the depot with an identity document.",
        )

    def _lift_blocks(self, clock, day: datetime.date) -> None:
        """Operations lift a courier's block after a word with them, at the end of the day."""
        clock.set(day, 19)
        for block in EntryBlock.objects.filter(lifted_at__isnull=True):
            entry_block_lift(block=block, actor=self.admin)

    def _end_of_round(self, clock, day: datetime.date, due, *, last_day: bool) -> None:
        """A parcel still in the van in the evening (its courier got blocked mid-round):
        a failed attempt, out again on its new day; on the last day, operations hand it
        over, so that nothing of the history is carried into today."""
        clock.set(day, 18, 30)
        for shipment, courier in due:
            shipment = Shipment.objects.get(pk=shipment.pk)
            if shipment.status != Status.OUT_FOR_DELIVERY:
                continue
            if last_day:
                shipment_hand_over_by_override(
                    shipment=shipment,
                    context=EntryContext(user=self.admin),
                    reason="Handed over at the depot, identity checked.",
                )
            else:
                shipment_record_failed_attempt(
                    shipment=shipment, courier=courier, reason=DeliveryAttempt.Reason.NOT_AT_HOME
                )
                self.again.append(shipment)

    # --- One day --------------------------------------------------------------------------------

    def day(self, clock, day: datetime.date) -> None:
        last_day = next_working_day(day) >= self.today
        clock.set(day, 0, 5)
        day_end()
        if day.isoweekday() not in settings.DELIVERY_WORKING_DAYS:
            # No rounds, but the pickup points open: customers collect their parcels.
            self._collections(clock, day, last_day=last_day)
            return
        # Parcels failed earlier go out again today, first thing.
        again, self.again = self.again, []
        clock.set(day, 8)
        due = []
        for shipment in again:
            shipment = Shipment.objects.get(pk=shipment.pk)
            if shipment.status == Status.DELIVERY_FAILED and shipment.delivery_day == day:
                courier = self.rng.choice(self.couriers)
                due.append((self._send_out(shipment, courier, day), courier))
            else:
                self.again.append(shipment)
        # Today's new parcels: most to the door, some to a pickup point.
        for _ in range(self.rng.randint(8, 13)):
            to_point = self.rng.random() < 0.2
            point = self.rng.choice([self.point, self.second_point]) if to_point else None
            shipment = self._parcel(day, pickup_point=point)
            clock.set(day, 7, self.rng.randrange(60))
            shipment_mark_shipped(shipment=shipment, actor=self.admin, delivery_day=day)
            if point is not None:
                operator = self.operator if point == self.point else self.second_operator
                clock.set(day, 10, self.rng.randrange(60))
                shipment = shipment_receive_at_pickup_point(
                    shipment=shipment, pickup_point=point, actor=operator
                )
                self.waiting_at_points.append(shipment)
                continue
            courier = self.rng.choice(self.couriers)
            clock.set(day, 8, self.rng.randrange(30))
            due.append((self._send_out(shipment, courier, day), courier))
        # The rounds, in the order of the day.
        for index, (shipment, courier) in enumerate(due):
            clock.set(day, 9 + index * 9 // max(len(due), 1), self.rng.randrange(50))
            self._at_door(clock, shipment, courier, day, last_day=last_day)
        self._end_of_round(clock, day, due, last_day=last_day)
        self._collections(clock, day, last_day=last_day)
        if self.held is not None:
            self._held_then_overridden(clock, day)
        elif day >= self.hold_day and not last_day and not self.hold_done:
            self._to_be_held(clock, day)
            self.hold_done = True
        self._lift_blocks(clock, day)

    def _collections(self, clock, day: datetime.date, *, last_day: bool) -> None:
        waiting, self.waiting_at_points = self.waiting_at_points, []
        for shipment in waiting:
            shipment = Shipment.objects.get(pk=shipment.pk)
            # Customers come within the collection days, some on the last one.
            if not last_day and shipment.delivery_day > day and self.rng.random() < 0.5:
                self.waiting_at_points.append(shipment)
                continue
            point = shipment.pickup_point
            operator = self.operator if point == self.point else self.second_operator
            context = EntryContext(user=operator, pickup_point=point)
            clock.set(day, 17, self.rng.randrange(60))
            right = _plain_code(shipment)
            if self.rng.random() < 0.05:
                shipment_hand_over_at_counter(
                    pickup_point=point, raw_code=_wrong_code(right, self.rng), context=context
                )
            shipment_hand_over_at_counter(pickup_point=point, raw_code=right, context=context)


def history_exists() -> bool:
    return Order.objects.filter(number__startswith=ORDER_PREFIX).exists()


def history_create(
    *, today: datetime.date, people: dict, point: PickupPoint, days: int = HISTORY_DAYS
) -> int:
    """Write `days` days of history before `today`; the number of parcels made."""
    with transaction.atomic(), moved_clock() as clock:
        history = History(today=today, days=days, people=people, point=point)
        first = today - datetime.timedelta(days=days)
        for offset in range(days):
            history.day(clock, first + datetime.timedelta(days=offset))
        # Those emails went out at the time; the worker must not send them today.
        CodeEmail.objects.filter(
            code__shipment__order__number__startswith=ORDER_PREFIX, sent_at__isnull=True
        ).update(sent_at=F("requested_at"), failed_at=None)
        Shipment.objects.filter(
            order__number__startswith=ORDER_PREFIX,
            status=Shipment.Status.DELIVERED,
            receipt_sent_at__isnull=True,
        ).update(receipt_sent_at=F("delivered_at"))
    return history.number
