"""Racing requests on PostgreSQL: counts stay exact and a parcel is delivered once.

Each thread has its own database connection, so the row locks in shipment_hand_over_at_door are what
keeps these numbers right; SQLite serialises whole transactions and proves nothing here.
"""

import pytest
from django.test import Client
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode, EntryBlock
from orders.models import Shipment
from tests.codes.test_entry_block import _enter, parcels_on_route
from tests.conftest import plain_code, race, wrong_code_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]

Outcome = CodeEntry.Outcome


def test_concurrent_wrong_codes_lock_one_parcel_at_exactly_five(out_for_delivery, courier):
    wrong = wrong_code_for(out_for_delivery)

    outcomes, errors = race(lambda i: _enter(out_for_delivery, wrong, courier.user).outcome, 9)

    out_for_delivery.refresh_from_db()
    code = DeliveryCode.objects.get(shipment=out_for_delivery)
    assert errors == []
    assert sorted(outcomes) == [Outcome.LOCKED] * 4 + [Outcome.WRONG] * 5
    assert (code.status, code.wrong_attempts) == (DeliveryCode.Status.LOCKED, 5)
    assert out_for_delivery.wrong_code_entries == 5


def test_concurrent_wrong_codes_across_parcels_block_the_courier_at_exactly_ten(
    customer, route, ops, courier
):
    many = parcels_on_route(n=16, customer=customer, route=route, ops=ops)

    outcomes, errors = race(
        lambda i: _enter(many[i], wrong_code_for(many[i]), courier.user).outcome, 16
    )

    assert errors == []
    assert sorted(outcomes) == [Outcome.BLOCKED] * 6 + [Outcome.WRONG] * 10
    assert EntryBlock.objects.get(user=courier.user).wrong_entries == 10
    assert sum(Shipment.objects.values_list("wrong_code_entries", flat=True)) == 10


def test_twenty_concurrent_right_codes_deliver_once_and_show_no_error_page(
    out_for_delivery, courier
):
    url = reverse("courier_stop", args=[out_for_delivery.tracking_number])
    code = plain_code(out_for_delivery)
    clients = []
    for _ in range(20):
        client = Client()
        client.force_login(courier.user)
        clients.append(client)

    responses, errors = race(lambda i: clients[i].post(url, {"code": code}), 20)

    # Then: one delivery, one success record; every other courier's tap ends on the
    # confirmation (redirected to it, or, if it came in after the handover, shown it)
    assert errors == []
    assert len(responses) == 20
    assert CodeEntry.objects.filter(outcome=Outcome.CORRECT).count() == 1
    assert out_for_delivery.events.filter(status=Shipment.Status.DELIVERED).count() == 1
    for response in responses:
        assert response.status_code in {200, 302}
        if response.status_code == 200:
            assert "Delivered" in response.content.decode()
        else:
            assert response.url == url
