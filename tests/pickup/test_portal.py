"""The pickup-point portal over HTTP: the parcels waiting here, release by code alone,
receipt by tracking number, and nobody else's parcels (rules 5, 6, 7, 10)."""

import pytest
from django.core import mail
from django.urls import reverse

from codes.models import CodeEntry, EntryBlock, ParcelHold
from handoff.services import shipment_mark_shipped
from orders.models import Shipment
from pickup.views import RELEASE_MESSAGES
from tests.conftest import TODAY, make_parcel_at, make_valuable_shipment, plain_code
from tests.factories import CourierFactory, PickupPointFactory

pytestmark = pytest.mark.django_db

Outcome = CodeEntry.Outcome


def _point_url(point):
    return reverse("pickup_point", args=[point.pk])


def _wrong_code(*parcels):
    taken = {plain_code(p) for p in parcels}
    return next(c for c in ("135792", "246813", "975310", "864209") if c not in taken)


@pytest.fixture
def operator_client(client, operator, pickup_point):
    client.force_login(operator)
    return client


@pytest.fixture
def parcel_on_its_way(pickup_point, customer, ops):
    shipment = make_valuable_shipment(customer)
    shipment.pickup_point = pickup_point
    shipment.save(update_fields=["pickup_point"])
    return shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)


# --- Landing and access ---------------------------------------------------------------------


def test_operator_lands_on_the_pickup_point_view(operator_client, pickup_point):
    response = operator_client.get("/", follow=True)

    assert response.redirect_chain[-1][0] == _point_url(pickup_point)
    assert response.status_code == 200


def test_operator_of_several_points_chooses_one(operator_client, operator, pickup_point):
    second = PickupPointFactory(name="Cartoleria Nord")
    second.operators.add(operator)

    response = operator_client.get(reverse("pickup_home"))

    content = response.content.decode()
    assert _point_url(pickup_point) in content
    assert _point_url(second) in content


@pytest.mark.parametrize("who", ["customer", "courier", "other_operator"])
def test_others_get_a_404_for_the_point(client, pickup_point, other_point, request, who):
    user = request.getfixturevalue(who)
    client.force_login(getattr(user, "user", user))

    assert client.get(_point_url(pickup_point)).status_code == 404


@pytest.mark.parametrize("who", ["customer", "courier"])
def test_people_operating_no_point_get_a_404_for_the_portal(client, request, who):
    user = request.getfixturevalue(who)
    client.force_login(getattr(user, "user", user))

    assert client.get(reverse("pickup_home")).status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, pickup_point):
    response = client.get(_point_url(pickup_point))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


# --- What the operator sees -----------------------------------------------------------------


def test_point_page_has_the_code_form_as_the_contract_says(operator_client, pickup_point):
    content = operator_client.get(_point_url(pickup_point)).content.decode()

    assert ">Delivery code</label>" in content
    assert "Release parcel" in content
    assert 'inputmode="numeric"' in content
    assert 'autocomplete="off"' in content
    assert 'type="text"' in content


def test_point_page_lists_the_parcels_waiting_here(operator_client, pickup_point, at_pickup_point):
    content = operator_client.get(_point_url(pickup_point)).content.decode()

    assert f'data-tracking-number="{at_pickup_point.tracking_number}"' in content
    assert "Alice Rossi" in content
    assert "Sunday 29 November" in content


def test_point_page_never_contains_a_code(operator_client, pickup_point, at_pickup_point):
    code = plain_code(at_pickup_point)

    content = operator_client.get(_point_url(pickup_point)).content.decode()

    assert code not in content
    assert f"{code[:3]} {code[3:]}" not in content


def test_operator_does_not_see_parcels_of_other_points(
    operator_client, pickup_point, other_point, customer, ops
):
    elsewhere = make_parcel_at(other_point, customer, ops)

    content = operator_client.get(_point_url(pickup_point)).content.decode()

    assert elsewhere.tracking_number not in content


def test_point_page_queries_do_not_grow_with_the_parcels(
    operator_client, pickup_point, customer, ops, django_assert_max_num_queries
):
    for _ in range(15):
        make_parcel_at(pickup_point, customer, ops)

    with django_assert_max_num_queries(12):
        operator_client.get(_point_url(pickup_point))


# --- Release by code --------------------------------------------------------------------------


def test_the_code_alone_releases_the_parcel(operator_client, pickup_point, at_pickup_point):
    response = operator_client.post(
        _point_url(pickup_point), {"code": plain_code(at_pickup_point)}, follow=True
    )

    at_pickup_point.refresh_from_db()
    content = response.content.decode()
    assert at_pickup_point.status == Shipment.Status.DELIVERED
    assert "Hand over this parcel" in content
    assert f'data-tracking-number="{at_pickup_point.tracking_number}"' in content
    assert "Alice Rossi" in content


def test_release_is_audited_with_the_point_and_address(
    operator_client, operator, pickup_point, at_pickup_point
):
    operator_client.post(
        _point_url(pickup_point),
        {"code": plain_code(at_pickup_point)},
        REMOTE_ADDR="192.0.2.44",
    )

    entry = CodeEntry.objects.get()
    assert (entry.outcome, entry.user, entry.pickup_point, entry.shipment) == (
        Outcome.CORRECT,
        operator,
        pickup_point,
        at_pickup_point,
    )
    assert entry.client_ip == "192.0.2.44"


def test_wrong_code_is_told_and_counted_against_the_operator(
    operator_client, operator, pickup_point, at_pickup_point
):
    response = operator_client.post(
        _point_url(pickup_point), {"code": _wrong_code(at_pickup_point)}
    )

    assert response.status_code == 200
    assert "No parcel waiting here has this code" in response.content.decode()
    entry = CodeEntry.objects.get()
    assert (entry.outcome, entry.shipment, entry.pickup_point) == (
        Outcome.WRONG,
        None,
        pickup_point,
    )
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


@pytest.mark.parametrize("malformed", ["12345", "12a456", "１２３４５６", "1" * 5000])
def test_malformed_code_is_told_and_not_counted(
    operator_client, pickup_point, at_pickup_point, malformed
):
    response = operator_client.post(_point_url(pickup_point), {"code": malformed})

    assert response.status_code == 200
    assert "exactly six digits" in response.content.decode()
    assert list(CodeEntry.objects.values_list("outcome", flat=True)) == [Outcome.MALFORMED]


def test_expired_code_is_told_and_the_parcel_stays(
    operator_client, pickup_point, at_pickup_point, time_machine
):
    code = plain_code(at_pickup_point)
    time_machine.move_to("2026-11-30 00:00:00+01:00", tick=False)

    response = operator_client.post(_point_url(pickup_point), {"code": code})

    assert "collection period is over" in response.content.decode()
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


def test_operator_cannot_release_a_parcel_of_another_point(
    client, other_operator, other_point, at_pickup_point
):
    client.force_login(other_operator)

    response = client.post(_point_url(other_point), {"code": plain_code(at_pickup_point)})

    assert "No parcel waiting here has this code" in response.content.decode()
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


def test_operator_cannot_post_to_another_point(
    client, other_operator, pickup_point, at_pickup_point
):
    client.force_login(other_operator)

    response = client.post(_point_url(pickup_point), {"code": plain_code(at_pickup_point)})

    assert response.status_code == 404
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"
    assert not CodeEntry.objects.exists()


def test_released_page_of_another_point_is_a_404(
    client, operator, other_operator, pickup_point, other_point, at_pickup_point
):
    client.force_login(operator)
    client.post(_point_url(pickup_point), {"code": plain_code(at_pickup_point)})
    other_operator.pickup_points.add(other_point)
    client.force_login(other_operator)

    response = client.get(
        reverse("pickup_released", args=[other_point.pk, at_pickup_point.tracking_number])
    )

    assert response.status_code == 404


def test_operator_is_blocked_after_too_many_wrong_codes(
    operator_client, operator, pickup_point, at_pickup_point, settings
):
    settings.COURIER_MAX_WRONG_ATTEMPTS = 3
    wrong = _wrong_code(at_pickup_point)
    for _ in range(3):
        operator_client.post(_point_url(pickup_point), {"code": wrong})

    response = operator_client.post(_point_url(pickup_point), {"code": plain_code(at_pickup_point)})

    assert "blocked" in response.content.decode()
    assert EntryBlock.objects.filter(user=operator, lifted_at=None).exists()
    assert CodeEntry.objects.order_by("-pk").first().outcome == Outcome.BLOCKED
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


# --- Receipt by tracking number ---------------------------------------------------------------


def test_operator_confirms_receipt_by_tracking_number(
    operator_client, pickup_point, parcel_on_its_way, django_capture_on_commit_callbacks
):
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("pickup_receive", args=[pickup_point.pk]),
            {"tracking_number": f" {parcel_on_its_way.tracking_number.lower()} "},
            follow=True,
        )

    parcel_on_its_way.refresh_from_db()
    assert parcel_on_its_way.status == Shipment.Status.AT_PICKUP_POINT
    assert "received" in response.content.decode()
    assert [m.to for m in mail.outbox] == [[parcel_on_its_way.order.email]]


def test_receipt_of_a_parcel_addressed_elsewhere_is_refused(
    client, other_operator, other_point, parcel_on_its_way
):
    client.force_login(other_operator)

    response = client.post(
        reverse("pickup_receive", args=[other_point.pk]),
        {"tracking_number": parcel_on_its_way.tracking_number},
    )

    assert "No parcel with this tracking number" in response.content.decode()
    assert Shipment.objects.get(pk=parcel_on_its_way.pk).status == "shipped"


def test_receipt_of_an_unknown_tracking_number_is_refused(operator_client, pickup_point):
    response = operator_client.post(
        reverse("pickup_receive", args=[pickup_point.pk]), {"tracking_number": "ODNOTHING"}
    )

    assert response.status_code == 200
    assert "No parcel with this tracking number" in response.content.decode()


def test_courier_cannot_use_the_pickup_portal(client, pickup_point, at_pickup_point):
    courier = CourierFactory()
    client.force_login(courier.user)

    response = client.post(_point_url(pickup_point), {"code": plain_code(at_pickup_point)})

    assert response.status_code == 404
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


def test_a_parcel_held_for_operations_is_not_released_and_the_operator_is_told(
    operator_client, pickup_point, at_pickup_point, frozen_now
):
    ParcelHold.objects.create(shipment=at_pickup_point, held_at=frozen_now, wrong_code_entries=10)

    response = operator_client.post(_point_url(pickup_point), {"code": plain_code(at_pickup_point)})

    assert response.status_code == 200
    assert "held for operations" in response.content.decode()
    assert CodeEntry.objects.get().outcome == Outcome.HELD
    assert Shipment.objects.get(pk=at_pickup_point.pk).status == "at_pickup_point"


# What code entry can answer that is not a hand-over (the others are not code entries; a
# parcel moved off a courier's route is an answer at a courier's stop, never at the counter).
REFUSALS = sorted(
    set(Outcome)
    - {
        Outcome.CORRECT,
        Outcome.ALREADY_DELIVERED,
        Outcome.NO_CODE_NEEDED,
        Outcome.OVERRIDE,
        Outcome.MOVED_AWAY,
    }
)


@pytest.mark.parametrize("outcome", REFUSALS)
def test_every_refusal_of_a_code_has_a_message_for_the_operator(outcome):
    assert RELEASE_MESSAGES[outcome]
