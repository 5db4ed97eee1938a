"""factory-boy factories for the domain's models."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from couriers.models import Courier, PickupPoint, Route
from orders.models import Order, OrderItem, Shipment


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("test-pass-123")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda order: order.customer.email)
    delivery_address = "Via Roma 1\n00184 Roma RM"


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    name = "Camera"
    unit_price = Decimal("500.00")
    quantity = 1


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)


class CourierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Courier

    user = factory.SubFactory(UserFactory)


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    courier = factory.SubFactory(CourierFactory)


class PickupPointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PickupPoint

    name = factory.Sequence(lambda n: f"Edicola {n}")
    address = "Piazza Colonna 1\n00187 Roma RM"
