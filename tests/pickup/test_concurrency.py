"""Racing at the counter on PostgreSQL: a parcel is released once, and parcels arriving at
one point together still get codes that all differ there."""

import pytest
from django.test import Client
from django.urls import reverse

from codes import tokens
from codes.models import CodeEntry, DeliveryCode
from handoff.services import shipment_mark_shipped, shipment_receive_at_pickup_point
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, plain_code, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]


def test_ten_concurrent_releases_of_one_code_hand_the_parcel_over_once(
    at_pickup_point, pickup_point, operator
):
    url = reverse("pickup_point", args=[pickup_point.pk])
    code = plain_code(at_pickup_point)
    clients = []
    for _ in range(10):
        client = Client()
        client.force_login(operator)
        clients.append(client)

    responses, errors = race(lambda i: clients[i].post(url, {"code": code}), 10)

    assert errors == []
    assert [r.status_code for r in responses] == [302] * 10
    assert CodeEntry.objects.filter(outcome=CodeEntry.Outcome.CORRECT).count() == 1
    assert not CodeEntry.objects.filter(outcome=CodeEntry.Outcome.WRONG).exists()
    assert at_pickup_point.events.filter(status=Shipment.Status.DELIVERED).count() == 1


def test_parcels_arriving_together_with_the_same_code_get_different_codes(
    pickup_point, customer, ops, operator, monkeypatch
):
    # Given six parcels for one point whose codes were all drawn equal at shipping
    monkeypatch.setattr(tokens, "generate_code", lambda: "135792")
    parcels = []
    for _ in range(6):
        shipment = make_valuable_shipment(customer)
        shipment.pickup_point = pickup_point
        shipment.save(update_fields=["pickup_point"])
        parcels.append(shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY))
    monkeypatch.undo()

    # When they are all received at the point at the same moment
    _, errors = race(
        lambda i: shipment_receive_at_pickup_point(
            shipment=parcels[i], pickup_point=pickup_point, actor=operator
        ),
        6,
    )

    # Then every parcel is held there and no two active codes at the point are equal
    assert errors == []
    hashes = list(
        DeliveryCode.objects.filter(pickup_point=pickup_point, status="active").values_list(
            "code_hash", flat=True
        )
    )
    assert len(hashes) == len(set(hashes)) == 6
    assert hashes.count(tokens.code_hash("135792")) == 1
