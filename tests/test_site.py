"""Site-wide contract: sign-in, health check, demo data."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.urls import reverse

from codes.models import DeliveryCode
from couriers.models import Route
from orders.models import Shipment

pytestmark = pytest.mark.django_db


def test_sign_in_page_is_at_accounts_login(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert "Sign in" in response.content.decode()


def test_healthz_answers_ok_when_the_database_is_reachable(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_names_the_database_when_it_is_unreachable(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("otpdelivery.views.connection.cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_seed_demo_creates_the_world_of_the_product_sheet(client):
    call_command("seed_demo", stdout=None)

    assert client.login(username="alice", password="alice-demo-pass")
    statuses = sorted(
        Shipment.objects.filter(order__customer__username="alice").values_list(
            "status", "requires_code"
        )
    )
    assert statuses == [
        ("delivered", True),
        ("out_for_delivery", False),
        ("out_for_delivery", True),
        ("processing", None),
    ]
    # Two parcels out for delivery and the one delivered earlier in the round.
    assert Route.objects.get(courier__user__username="marco", day="2026-11-26").stops.count() == 3
    for username in ("bruno", "marco", "edicola", "admin"):
        assert client.login(username=username, password=f"{username}-demo-pass")


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    shipments, codes = Shipment.objects.count(), DeliveryCode.objects.count()

    call_command("seed_demo")

    assert (Shipment.objects.count(), DeliveryCode.objects.count()) == (shipments, codes)


def test_seed_demo_on_a_new_day_replaces_old_demo_parcels(time_machine, frozen_now):
    call_command("seed_demo")
    time_machine.move_to(frozen_now.replace(day=27), tick=False)

    call_command("seed_demo")

    assert not Shipment.objects.filter(order__number__contains="20261126").exists()
    assert Route.objects.filter(day="2026-11-27").exists()


def test_demo_courier_lands_on_todays_deliveries(client):
    call_command("seed_demo")
    client.login(username="marco", password="marco-demo-pass")

    response = client.get(reverse("home"), follow=True)

    assert "Today" in response.content.decode()
