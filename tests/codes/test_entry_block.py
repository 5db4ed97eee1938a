"""Rule 6, per person: too many wrong codes across parcels blocks code entry until
operations lift the block. Includes the brute-force attack the limit is there for."""

import datetime
import random

import pytest
from django.urls import reverse

from codes.models import CodeEntry, DeliveryCode, EntryBlock
from codes.services import EntryContext, entry_block_lift
from handoff.services import (
    shipment_add_to_route,
    shipment_hand_over_at_counter,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_move_to_route,
)
from orders.models import Shipment
from tests.conftest import TODAY, make_valuable_shipment, plain_code, wrong_code_for
from tests.factories import CourierFactory, PickupPointFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

Outcome = CodeEntry.Outcome


def parcels_on_route(*, n, customer, route, ops):
    parcels = []
    for _ in range(n):
        shipment = make_valuable_shipment(customer)
        shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
        shipment_add_to_route(route=route, shipment=shipment)
        parcels.append(shipment_mark_out_for_delivery(shipment=shipment, actor=ops))
    return parcels


@pytest.fixture
def parcels(customer, route, ops):
    return parcels_on_route(n=12, customer=customer, route=route, ops=ops)


def _enter(shipment, raw, user):
    return shipment_hand_over_at_door(
        shipment=shipment, raw_code=raw, context=EntryContext(user=user, client_ip="10.0.0.7")
    )


def _enter_wrong(parcels, user, count):
    return [_enter(shipment, wrong_code_for(shipment), user) for shipment in parcels[:count]]


def test_brute_force_across_100_parcels_is_blocked_after_10_wrong_codes(
    customer, route, ops, courier
):
    # Given a courier with 100 parcels needing a code today
    many = parcels_on_route(n=100, customer=customer, route=route, ops=ops)
    guesses = random.Random(4)

    # When the courier submits a random code for each of them (a lucky guess, one chance
    # in 100,000 over the first ten, is drawn again: this test is about the block)
    def random_wrong_code(shipment):
        right = plain_code(shipment)
        while (guess := f"{guesses.randrange(10**6):06d}") == right:
            pass
        return guess

    results = [_enter(shipment, random_wrong_code(shipment), courier.user) for shipment in many]

    # Then the first 10 are wrong, the courier is blocked after the 10th, and nothing is
    # delivered: the 90 entries after the block are refused without being checked
    assert [r.outcome for r in results] == [Outcome.WRONG] * 10 + [Outcome.BLOCKED] * 90
    assert [r.person_blocked for r in results[:10]] == [False] * 9 + [True]
    assert not Shipment.objects.filter(status=Shipment.Status.DELIVERED).exists()
    assert EntryBlock.objects.get(user=courier.user).wrong_entries == 10
    assert Shipment.objects.filter(wrong_code_entries=1).count() == 10
    assert Shipment.objects.filter(wrong_code_entries=0).count() == 90


def test_blocked_courier_is_refused_even_the_right_code(parcels, courier):
    _enter_wrong(parcels, courier.user, 10)
    untouched = parcels[11]

    result = _enter(untouched, plain_code(untouched), courier.user)

    untouched.refresh_from_db()
    assert result.outcome == Outcome.BLOCKED
    assert untouched.status == Shipment.Status.OUT_FOR_DELIVERY


def test_blocked_entry_leaves_the_parcels_counters_alone(parcels, courier):
    _enter_wrong(parcels, courier.user, 10)
    untouched = parcels[11]

    _enter(untouched, wrong_code_for(untouched), courier.user)

    untouched.refresh_from_db()
    assert untouched.wrong_code_entries == 0
    assert DeliveryCode.objects.get(shipment=untouched).wrong_attempts == 0


def test_blocked_entry_is_audited_with_person_time_and_address(parcels, courier, frozen_now):
    _enter_wrong(parcels, courier.user, 10)

    _enter(parcels[11], wrong_code_for(parcels[11]), courier.user)

    entry = CodeEntry.objects.get(outcome=Outcome.BLOCKED)
    assert (entry.shipment, entry.user, entry.client_ip, entry.created_at) == (
        parcels[11],
        courier.user,
        "10.0.0.7",
        frozen_now,
    )
    assert entry.code is None


def test_malformed_entry_of_a_blocked_courier_is_recorded_as_blocked(parcels, courier):
    _enter_wrong(parcels, courier.user, 10)

    result = _enter(parcels[11], "12a456", courier.user)

    assert result.outcome == Outcome.BLOCKED


def test_nine_wrong_codes_do_not_block(parcels, courier):
    _enter_wrong(parcels, courier.user, 9)

    result = _enter(parcels[10], plain_code(parcels[10]), courier.user)

    assert result.delivered
    assert not EntryBlock.objects.exists()


def test_malformed_entries_do_not_count_towards_the_block(parcels, courier):
    for shipment in parcels[:11]:
        _enter(shipment, "12345", courier.user)

    assert _enter(parcels[11], plain_code(parcels[11]), courier.user).delivered
    assert not EntryBlock.objects.exists()


def test_wrong_codes_older_than_the_window_do_not_count(parcels, courier, time_machine, frozen_now):
    _enter_wrong(parcels, courier.user, 9)
    time_machine.move_to(frozen_now + datetime.timedelta(minutes=61), tick=False)

    result = _enter(parcels[9], wrong_code_for(parcels[9]), courier.user)

    assert result.outcome == Outcome.WRONG
    assert not result.person_blocked
    assert not EntryBlock.objects.exists()


def test_wrong_codes_at_the_edge_of_the_window_still_count(
    parcels, courier, time_machine, frozen_now
):
    _enter_wrong(parcels, courier.user, 9)
    time_machine.move_to(frozen_now + datetime.timedelta(minutes=60), tick=False)

    result = _enter(parcels[9], wrong_code_for(parcels[9]), courier.user)

    assert result.person_blocked


def test_limit_and_window_are_settings(parcels, courier, settings, time_machine, frozen_now):
    settings.COURIER_MAX_WRONG_ATTEMPTS = 3
    settings.COURIER_WRONG_ATTEMPTS_WINDOW_MINUTES = 5
    _enter_wrong(parcels, courier.user, 2)
    time_machine.move_to(frozen_now + datetime.timedelta(minutes=5), tick=False)

    result = _enter(parcels[2], wrong_code_for(parcels[2]), courier.user)

    assert result.person_blocked


def test_one_couriers_block_does_not_block_another(parcels, courier, ops):
    _enter_wrong(parcels, courier.user, 10)
    colleague = UserFactory(username="luca")
    shipment_move_to_route(
        shipment=parcels[11],
        route=RouteFactory(courier=CourierFactory(user=colleague), day=TODAY),
        actor=ops,
    )

    result = _enter(parcels[11], wrong_code_for(parcels[11]), colleague)

    assert result.outcome == Outcome.WRONG


def test_pickup_point_operator_is_blocked_like_a_courier(db):
    operator = UserFactory(username="edicola")
    point = PickupPointFactory()
    point.operators.add(operator)

    results = [
        shipment_hand_over_at_counter(
            pickup_point=point, raw_code=f"13579{n}", context=EntryContext(user=operator)
        )
        for n in range(11)
    ]

    assert results[9].person_blocked
    assert results[10].outcome == Outcome.BLOCKED


def test_lifting_the_block_lets_the_courier_enter_codes_again(parcels, courier, ops):
    _enter_wrong(parcels, courier.user, 10)

    entry_block_lift(block=EntryBlock.objects.get(), actor=ops)

    assert _enter(parcels[11], plain_code(parcels[11]), courier.user).delivered


def test_wrong_codes_before_the_lift_do_not_count_again(parcels, courier, ops):
    _enter_wrong(parcels, courier.user, 10)
    entry_block_lift(block=EntryBlock.objects.get(), actor=ops)

    result = _enter(parcels[10], wrong_code_for(parcels[10]), courier.user)

    assert result.outcome == Outcome.WRONG
    assert not result.person_blocked
    assert EntryBlock.objects.filter(lifted_at__isnull=True).count() == 0


def test_ten_new_wrong_codes_after_a_lift_block_again(
    parcels, courier, ops, customer, route, time_machine, frozen_now
):
    _enter_wrong(parcels, courier.user, 10)
    entry_block_lift(block=EntryBlock.objects.get(), actor=ops)
    time_machine.move_to(frozen_now + datetime.timedelta(minutes=1), tick=False)
    more = parcels_on_route(n=10, customer=customer, route=route, ops=ops)

    results = _enter_wrong(more, courier.user, 10)

    assert results[-1].person_blocked
    assert EntryBlock.objects.count() == 2


def test_admin_lift_action_records_who_lifted_and_when(client, ops, parcels, courier, frozen_now):
    _enter_wrong(parcels, courier.user, 10)
    block = EntryBlock.objects.get()
    client.force_login(ops)

    response = client.post(
        reverse("admin:codes_entryblock_changelist"),
        {"action": "lift_block", "_selected_action": [block.pk]},
        follow=True,
    )

    block.refresh_from_db()
    assert response.status_code == 200
    assert (block.lifted_by, block.lifted_at) == (ops, frozen_now)
    assert "1 block lifted" in response.content.decode()


def test_admin_cannot_add_edit_or_delete_blocks(rf, ops):
    from django.contrib.admin.sites import site

    request = rf.get("/")
    request.user = ops
    model_admin = site._registry[EntryBlock]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert set(model_admin.get_readonly_fields(request)) >= {"user", "lifted_at", "lifted_by"}


def test_admin_lists_active_blocks(client, ops, parcels, courier):
    _enter_wrong(parcels, courier.user, 10)
    client.force_login(ops)

    response = client.get(reverse("admin:codes_entryblock_changelist") + "?state=active")

    assert response.status_code == 200
    assert "marco" in response.content.decode()


def test_stop_page_tells_the_courier_they_are_blocked(client, parcels, courier):
    client.force_login(courier.user)
    _enter_wrong(parcels, courier.user, 9)
    tenth = parcels[9]

    response = client.post(
        reverse("courier_stop", args=[tenth.tracking_number]),
        {"code": wrong_code_for(tenth)},
    )

    assert response.status_code == 200
    assert "Code entry is blocked until operations lift the block" in response.content.decode()


def test_stop_page_warns_a_blocked_courier_before_they_type(client, parcels, courier):
    client.force_login(courier.user)
    _enter_wrong(parcels, courier.user, 10)

    response = client.get(reverse("courier_stop", args=[parcels[11].tracking_number]))

    assert 'data-entry-closed="blocked"' in response.content.decode()


def test_stop_page_shows_no_block_warning_normally(client, parcels, courier):
    client.force_login(courier.user)

    response = client.get(reverse("courier_stop", args=[parcels[0].tracking_number]))

    assert "data-entry-closed" not in response.content.decode()
