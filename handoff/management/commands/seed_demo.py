"""Create the demo world of PRODUCT.md for today in the delivery time zone (idempotent)."""

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from codes import tokens
from codes.models import CodeEmail, CodeEntry, DeliveryCode, ParcelHold
from couriers.models import Courier, DeliveryAttempt, PickupPoint, Route, Stop
from handoff.services import (
    EntryContext,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
)
from orders.days import local_today
from orders.models import Order, OrderItem, Shipment
from retailers.services import demo_retailer_ensure

User = get_user_model()

# Demo passwords live here and nowhere else in the product.
DEMO_USERS = {
    "alice": {"password": "alice-demo-pass", "first_name": "Alice", "last_name": "Rossi"},
    "bruno": {"password": "bruno-demo-pass", "first_name": "Bruno", "last_name": "Bianchi"},
    "marco": {"password": "marco-demo-pass", "first_name": "Marco", "last_name": "Verdi"},
    "edicola": {"password": "edicola-demo-pass", "first_name": "Giulia", "last_name": "Neri"},
    "admin": {"password": "admin-demo-pass", "first_name": "Ops", "last_name": "Admin"},
}
ALICE_ADDRESS = "Via Roma 12\n00184 Roma RM"
BRUNO_ADDRESS = "Via Nazionale 40\n00184 Roma RM"
# The demo retailer's API key, like the passwords, exists only in demo data.
DEMO_API_KEY = "demo-shop-api-key"
PICKUP_POINT = {
    "name": "Edicola Centrale",
    "address": "Piazza Colonna 1\n00187 Roma RM",
    "opening_hours": "Mon–Sat 07:00–19:30, Sun 08:00–13:00",
}


class Command(BaseCommand):
    help = (
        "Create demo users and parcels for today (safe to run again); --reset removes the "
        "demo's parcels and makes today's afresh."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Remove every demo parcel (today's too) and make today's demo again.",
        )

    def handle(self, *args, **options):
        today = local_today(timezone.now())
        with transaction.atomic():
            users = self._users()
            self.retailer = demo_retailer_ensure(raw_key=DEMO_API_KEY)
            courier, _ = Courier.objects.get_or_create(user=users["marco"])
            point, _ = PickupPoint.objects.get_or_create(
                name=PICKUP_POINT["name"], defaults=PICKUP_POINT
            )
            point.operators.add(users["edicola"])
            complete = Order.objects.filter(number=self._last_order_number(today)).exists()
            if complete and not options["reset"]:
                self.stdout.write("Demo data for today already exists.")
                return
            # A new day, a reset, or a run cut short gets a fresh demo.
            self._remove_demo_orders(keep_day=None if options["reset"] or not complete else today)
        # Each step commits on its own, as a real day does: the emails a step asks for go
        # out (or to the worker) before the next step, so each says what was true then.
        self._world(today, users, courier, point)
        self.stdout.write(self.style.SUCCESS(f"Demo data created for {today:%Y-%m-%d}."))

    @staticmethod
    def _last_order_number(today) -> str:
        """The demo's last order: it exists only once the whole demo was made."""
        return f"DEMO-{today:%Y%m%d}-5"

    def _users(self) -> dict:
        users = {}
        for username, details in DEMO_USERS.items():
            user, _ = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": details["first_name"],
                    "last_name": details["last_name"],
                    "email": f"{username}@example.com",
                },
            )
            user.set_password(details["password"])
            if username == "admin":
                user.is_staff = user.is_superuser = True
            user.save()
            users[username] = user
        return users

    def _remove_demo_orders(self, *, keep_day: datetime.date | None) -> None:
        """Remove the demo's parcels, except those of `keep_day` (None: all of them)."""
        shipments = Shipment.objects.filter(order__number__startswith="DEMO-")
        orders = Order.objects.filter(number__startswith="DEMO-")
        if keep_day is not None:
            shipments = shipments.exclude(order__number__contains=f"{keep_day:%Y%m%d}")
            orders = orders.exclude(number__contains=f"{keep_day:%Y%m%d}")
        # Audit rows are append-only for people; the demo reset is the one exception.
        CodeEntry.objects.filter(shipment__in=shipments).purge_demo_data()
        DeliveryAttempt.objects.filter(shipment__in=shipments).delete()
        Stop.objects.filter(shipment__in=shipments).delete()
        CodeEmail.objects.filter(code__shipment__in=shipments).delete()
        ParcelHold.objects.filter(shipment__in=shipments).delete()
        DeliveryCode.objects.filter(shipment__in=shipments).delete()
        OrderItem.objects.filter(order__in=orders).delete()
        shipments.delete()
        orders.delete()
        Route.objects.filter(stops__isnull=True).delete()

    def _order(self, today, n, customer, address, items) -> Shipment:
        order = Order.objects.create(
            number=f"DEMO-{today:%Y%m%d}-{n}",
            retailer=self.retailer,
            reference=f"DEMO-{today:%Y%m%d}-{n}",
            customer=customer,
            email=customer.email,
            delivery_address=address,
        )
        for name, price, flagged in items:
            OrderItem.objects.create(
                order=order,
                name=name,
                unit_price=Decimal(price),
                requires_secure_delivery=flagged,
            )
        return Shipment.objects.create(order=order)

    def _world(self, today, users, courier, point) -> None:
        alice, bruno, marco, admin = users["alice"], users["bruno"], users["marco"], users["admin"]
        route, _ = Route.objects.get_or_create(courier=courier, day=today)

        with transaction.atomic():
            valuable = self._order(
                today, 1, alice, ALICE_ADDRESS, [("Smartphone", "899.00", False)]
            )
            cheap = self._order(today, 2, alice, ALICE_ADDRESS, [("Phone case", "19.90", False)])
        for shipment in (valuable, cheap):
            shipment_mark_shipped(shipment=shipment, actor=admin, delivery_day=today)
            shipment_mark_out_for_delivery(shipment=shipment, actor=admin, route=route)

        with transaction.atomic():
            earlier = self._order(today, 3, alice, ALICE_ADDRESS, [("Headphones", "349.00", False)])
        # Delivered earlier today, first stop of the round: the route keeps it as done.
        shipment_mark_shipped(shipment=earlier, actor=admin, delivery_day=today)
        shipment_mark_out_for_delivery(shipment=earlier, actor=admin, route=route)
        code = DeliveryCode.objects.get(shipment=earlier, status=DeliveryCode.Status.ACTIVE)
        # Alice read marco the code from her email.
        shipment_hand_over_at_door(
            shipment=earlier,
            raw_code=tokens.decrypt(code.code_encrypted),
            context=EntryContext(user=marco),
        )

        with transaction.atomic():
            self._order(today, 4, alice, ALICE_ADDRESS, [("Laptop", "1299.00", False)])

        with transaction.atomic():
            at_point = self._order(today, 5, bruno, BRUNO_ADDRESS, [("Watch", "450.00", False)])
            at_point.pickup_point = point
            at_point.save(update_fields=["pickup_point"])
            shipment_mark_shipped(shipment=at_point, actor=admin, delivery_day=today)
        with transaction.atomic():
            # Edicola confirmed receipt this morning: waiting there with the code from shipping.
            shipment_receive_at_pickup_point(
                shipment=at_point, pickup_point=point, actor=users["edicola"]
            )
