"""Three defects a reviewer found in the hand-over layer and left open, each as people meet
it: a missed drop that each role told differently, an admin day change to the same day that
answered "now due on", and a code typed at a stop moved to another courier that left no
audit row."""

import datetime
import importlib
import json

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.test import Client
from django.urls import reverse

from codes.models import CodeEmail, CodeEntry, DeliveryCode, EntryBlock
from couriers.models import DeliveryAttempt, Stop
from handoff.services import (
    EntryContext,
    shipment_hand_over_at_door,
    shipment_mark_shipped,
    shipment_move_to_route,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
)
from handoff.tasks import day_end
from orders.models import Order, Shipment, TrackingEvent
from retailers.models import Retailer
from retailers.services import api_key_create
from tests.conftest import ROME, TODAY, make_valuable_shipment, plain_code, wrong_code_for
from tests.factories import CourierFactory, RouteFactory, UserFactory
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_bodies_write, webhook_endpoint_create

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + datetime.timedelta(days=1)  # a Friday: a working day
AFTER_MIDNIGHT = datetime.datetime.combine(TOMORROW, datetime.time(0, 5), tzinfo=ROME)
LIST = "admin:orders_shipment_changelist"


def _signed_in(person) -> Client:
    """Each person on their own device: their own session and messages."""
    browser = Client()
    browser.force_login(person)
    return browser


def _messages(response):
    return [str(message) for message in response.context["messages"]]


# --- 1. A parcel for a pickup point the courier did not drop on its day --------------------


@pytest.fixture
def shop(db, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    return Retailer.objects.create(name="Demo Shop")


@pytest.fixture
def shop_api_key(shop):
    return api_key_create(retailer=shop, name="shop backend")[1]


@pytest.fixture
def sold_by_shop(out_for_delivery, shop):
    """Marco's parcel of an order the shop placed, the shop listening to every event."""
    Order.objects.filter(pk=out_for_delivery.order_id).update(retailer=shop, reference="SHOP-7")
    webhook_endpoint_create(retailer=shop, url="http://127.0.0.1:9/hooks")
    return Shipment.objects.get(pk=out_for_delivery.pk)


@pytest.fixture
def drop_missed(sold_by_shop, pickup_point, customer, time_machine):
    """Redirected to the pickup point while out with Marco, who did not drop it that day;
    the day-end ran just after midnight."""
    shipment_redirect_to_pickup_point(
        shipment=sold_by_shop, pickup_point=pickup_point, actor=customer
    )
    time_machine.move_to(AFTER_MIDNIGHT, tick=False)
    day_end()
    return Shipment.objects.get(pk=sold_by_shop.pk)


def _events_told(shipment) -> list[dict]:
    """The webhook bodies the retailer is sent about the parcel, in order."""
    deliveries = WebhookDelivery.objects.filter(shipment=shipment).order_by("pk")
    webhook_bodies_write(delivery_ids=list(deliveries.values_list("pk", flat=True)))
    return [json.loads(body) for body in deliveries.values_list("body", flat=True)]


def test_a_missed_drop_is_on_its_way_to_the_point_for_every_role(
    drop_missed, shop_api_key, customer, courier, operator, pickup_point, ops
):
    tracking = drop_missed.tracking_number

    # The customer: on its way to the point
    track = _signed_in(customer).get(reverse("track", args=[tracking])).content.decode()
    assert 'data-shipment-status="shipped"' in track
    assert "On its way to Edicola Centrale" in track

    # The retailer, reading and told: on its way, never a failed delivery
    read = Client().get(
        reverse("api_shipment", args=[tracking]),
        headers={"Authorization": f"Bearer {shop_api_key}"},
    )
    assert read.status_code == 200
    assert (read.json()["status"], read.json()["delivery_day"]) == ("shipped", str(TOMORROW))
    told = _events_told(drop_missed)
    assert told[-1]["type"] == "shipment.shipped"
    assert told[-1]["data"]["status"] == "shipped"
    assert "shipment.delivery_failed" not in [event["type"] for event in told]

    # Operations: shipped in the parcel list
    listed = _signed_in(ops).get(reverse(LIST), {"q": tracking}).content.decode()
    assert '<td class="field-status">Shipped</td>' in listed

    # The courier: yesterday's stop stays missed, today's waits at the depot for the point
    assert Stop.objects.get(shipment=drop_missed, day=TODAY).outcome == Stop.Outcome.MISSED
    today = _signed_in(courier.user).get(reverse("courier_today")).content.decode()
    assert f'data-tracking-number="{tracking}"' in today
    assert 'data-stop-waiting="depot"' in today
    assert "Edicola Centrale" in today
    assert "Delivery failed" not in today

    # The point's operator: still on its way there
    point = _signed_in(operator).get(reverse("pickup_point", args=[pickup_point.pk]))
    on_their_way = point.content.decode().split("On their way here")[1]
    assert f'data-tracking-number="{tracking}"' in on_their_way


def test_a_missed_drop_adds_no_failure_to_the_timeline(drop_missed, customer):
    track = _signed_in(customer).get(reverse("track", args=[drop_missed.tracking_number]))

    page = track.content.decode()
    assert "timeline-item timeline-delivery_failed" not in page
    assert "(needs attention)" not in page
    assert not TrackingEvent.objects.filter(shipment=drop_missed, status="delivery_failed").exists()


def test_a_missed_drop_still_reaches_the_point_and_the_customer_gets_the_code(
    drop_missed, operator, pickup_point, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(AFTER_MIDNIGHT + datetime.timedelta(hours=10), tick=False)

    with django_capture_on_commit_callbacks(execute=True):
        received = _signed_in(operator).post(
            reverse("pickup_receive", args=[pickup_point.pk]),
            {"tracking_number": drop_missed.tracking_number},
        )

    assert received.status_code == 302
    assert Shipment.objects.get(pk=drop_missed.pk).status == Shipment.Status.AT_PICKUP_POINT
    assert DeliveryCode.objects.filter(shipment=drop_missed, status="active").exists()


def test_a_door_attempt_on_a_parcel_bound_for_a_point_is_refused_not_failed(
    out_for_delivery, courier, pickup_point, ops
):
    # Given Marco's stop page still open at the door while operations redirect the parcel
    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=ops
    )
    marco = _signed_in(courier.user)

    # When he records a failed attempt there
    response = marco.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NOT_AT_HOME},
        follow=True,
    )

    # Then it is refused, saying where the parcel goes now, and the parcel is still his drop
    assert any("Edicola Centrale" in message for message in _messages(response))
    assert 'data-stop-waiting="depot"' not in response.content.decode()
    assert "Dropped at the pickup point" in response.content.decode()
    assert Shipment.objects.get(pk=out_for_delivery.pk).status == "out_for_delivery"
    assert not DeliveryAttempt.objects.exists()
    assert Stop.objects.get(shipment=out_for_delivery).outcome == Stop.Outcome.PENDING


def test_a_redirect_after_a_failed_attempt_tells_the_retailer_it_is_on_its_way(
    sold_by_shop, courier, customer, pickup_point
):
    shipment_record_failed_attempt(shipment=sold_by_shop, courier=courier, reason="not_at_home")

    redirected = _signed_in(customer).post(
        reverse("track_redirect", args=[sold_by_shop.tracking_number]),
        {"pickup_point": pickup_point.pk},
    )

    assert redirected.status_code == 302
    told = _events_told(sold_by_shop)
    assert [event["type"] for event in told][-2:] == [
        "shipment.delivery_failed",
        "shipment.shipped",
    ]
    assert told[-1]["data"]["status"] == "shipped"
    assert told[-1]["data"]["pickup_point"] is not None


def test_a_parcel_left_failed_by_an_earlier_missed_drop_is_on_its_way_after_the_upgrade(
    customer, pickup_point, ops
):
    # Given a parcel for the point that an earlier release's day-end left delivery_failed
    shipment = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=shipment, actor=ops, delivery_day=TODAY)
    Shipment.objects.filter(pk=shipment.pk).update(
        status="delivery_failed", pickup_point=pickup_point
    )
    at_the_door = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=at_the_door, actor=ops, delivery_day=TODAY)
    Shipment.objects.filter(pk=at_the_door.pk).update(status="delivery_failed")

    # When the data migration runs
    migration = importlib.import_module("orders.migrations.0005_missed_drops_on_their_way")
    migration.missed_drops_on_their_way(django_apps, None)

    # Then it is on its way to the point, its timeline ending there; a door's failure stays
    shipment.refresh_from_db()
    assert shipment.status == "shipped"
    assert shipment.events.last().status == "shipped"
    assert Shipment.objects.get(pk=at_the_door.pk).status == "delivery_failed"


# --- 2. An admin action that finds the parcel already where it would put it ---------------


def _action(browser, action, shipments, **form):
    return browser.post(
        reverse(LIST),
        {"action": action, "_selected_action": [s.pk for s in shipments], **form},
        follow=True,
    )


def _nothing_written_since(shipment, *, events, codes, emails, deliveries):
    assert TrackingEvent.objects.filter(shipment=shipment).count() == events
    assert DeliveryCode.objects.filter(shipment=shipment).count() == codes
    assert CodeEmail.objects.count() == emails
    assert WebhookDelivery.objects.count() == deliveries
    assert not LogEntry.objects.exists()


@pytest.fixture
def counts(shipped_for_today):
    return {
        "events": TrackingEvent.objects.filter(shipment=shipped_for_today).count(),
        "codes": DeliveryCode.objects.filter(shipment=shipped_for_today).count(),
        "emails": CodeEmail.objects.count(),
        "deliveries": WebhookDelivery.objects.count(),
    }


def test_changing_the_day_to_the_one_it_has_says_nothing_changed_and_sends_nothing(
    ops, shipped_for_today, counts
):
    mail.outbox.clear()

    response = _action(
        _signed_in(ops),
        "change_delivery_day",
        [shipped_for_today],
        apply="1",
        delivery_day=TODAY.isoformat(),
    )

    said = _messages(response)
    tracking = shipped_for_today.tracking_number
    assert said == [f"{tracking} was not changed: it is already due on 26 November 2026."]
    assert not any("now due on" in message for message in said)
    _nothing_written_since(shipped_for_today, **counts)
    assert mail.outbox == []


def test_changing_the_day_of_several_parcels_tells_apart_the_one_already_on_it(
    ops, shipped_for_today, customer
):
    other = make_valuable_shipment(customer)
    shipment_mark_shipped(shipment=other, actor=ops, delivery_day=TOMORROW)

    response = _action(
        _signed_in(ops),
        "change_delivery_day",
        [shipped_for_today, other],
        apply="1",
        delivery_day=TOMORROW.isoformat(),
    )

    said = _messages(response)
    assert (
        f"{other.tracking_number} was not changed: it is already due on 27 November 2026." in said
    )
    assert "1 parcel now due on 27 November 2026." in said
    assert Shipment.objects.get(pk=shipped_for_today.pk).delivery_day == TOMORROW


def test_sending_out_a_parcel_already_out_says_nothing_changed(ops, out_for_delivery):
    events = TrackingEvent.objects.filter(shipment=out_for_delivery).count()

    response = _action(_signed_in(ops), "mark_as_out_for_delivery", [out_for_delivery])

    assert _messages(response) == [
        f"{out_for_delivery.tracking_number} was not changed: it is already out for delivery."
    ]
    assert TrackingEvent.objects.filter(shipment=out_for_delivery).count() == events


def test_redirecting_a_parcel_to_the_point_it_is_bound_for_says_nothing_changed(
    ops, out_for_delivery, pickup_point
):
    shipment_redirect_to_pickup_point(
        shipment=out_for_delivery, pickup_point=pickup_point, actor=ops
    )
    events = TrackingEvent.objects.filter(shipment=out_for_delivery).count()

    response = _action(
        _signed_in(ops),
        "redirect_to_pickup_point",
        [out_for_delivery],
        apply="1",
        pickup_point=pickup_point.pk,
    )

    assert _messages(response) == [
        f"{out_for_delivery.tracking_number} was not changed: "
        "it is already on its way to Edicola Centrale."
    ]
    assert TrackingEvent.objects.filter(shipment=out_for_delivery).count() == events


@pytest.mark.parametrize("action", ["move_to_route", "add_to_route"])
def test_putting_a_parcel_on_the_route_it_is_on_says_nothing_changed(
    ops, out_for_delivery, courier, action
):
    response = _action(
        _signed_in(ops),
        action,
        [out_for_delivery],
        apply="1",
        courier=courier.pk,
        day=TODAY.isoformat(),
    )

    assert _messages(response) == [
        f"{out_for_delivery.tracking_number} was not changed: it is already on that route."
    ]
    assert list(
        Stop.objects.filter(shipment=out_for_delivery).values_list("outcome", flat=True)
    ) == ["pending"]
    assert not LogEntry.objects.exists()


# --- 3. A code typed at a stop moved to another courier ------------------------------------


@pytest.fixture
def luca(db):
    return CourierFactory(user=UserFactory(username="luca", first_name="Luca"))


@pytest.fixture
def moved_to_luca(out_for_delivery, ops, luca):
    """Marco's parcel, given by operations to Luca's route for today."""
    shipment_move_to_route(
        shipment=out_for_delivery, route=RouteFactory(courier=luca, day=TODAY), actor=ops
    )
    return out_for_delivery


def _type_at_the_stop(browser, shipment, code):
    return browser.post(
        reverse("courier_stop", args=[shipment.tracking_number]),
        {"code": code, "latitude": "41.9", "longitude": "12.5"},
        REMOTE_ADDR="203.0.113.7",
        follow=True,
    )


@pytest.mark.parametrize("kind", ["right", "wrong", "malformed"])
def test_a_code_typed_at_a_stop_moved_away_is_recorded_never_checked_nor_counted(
    courier, moved_to_luca, kind
):
    code = {
        "right": plain_code(moved_to_luca),
        "wrong": wrong_code_for(moved_to_luca),
        "malformed": "12a456",
    }[kind]

    response = _type_at_the_stop(_signed_in(courier.user), moved_to_luca, code)

    # Sent back to the list, saying why, as before
    assert response.redirect_chain == [(reverse("courier_today"), 302)]
    assert any("to another courier" in message for message in _messages(response))
    # and the entry is in the audit trail with who, when, where and from which address
    entry = CodeEntry.objects.get()
    assert (entry.outcome, entry.user, entry.shipment_id) == (
        CodeEntry.Outcome.MOVED_AWAY,
        courier.user,
        moved_to_luca.pk,
    )
    assert entry.client_ip == "203.0.113.7"
    assert (str(entry.latitude), str(entry.longitude)) == ("41.900000", "12.500000")
    # never checked: the parcel is still out with Luca, its code unused and nothing counted
    code_row = DeliveryCode.objects.get(shipment=moved_to_luca)
    assert (code_row.status, code_row.wrong_attempts) == ("active", 0)
    parcel = Shipment.objects.get(pk=moved_to_luca.pk)
    assert (parcel.status, parcel.wrong_code_entries) == ("out_for_delivery", 0)


def test_operations_see_the_entry_at_a_stop_moved_away_in_words(courier, moved_to_luca, ops):
    _type_at_the_stop(_signed_in(courier.user), moved_to_luca, plain_code(moved_to_luca))

    entries = _signed_in(ops).get(
        reverse("admin:codes_codeentry_changelist"), {"outcome": "moved_away"}
    )

    page = entries.content.decode()
    assert "Parcel moved off their route" in page
    assert moved_to_luca.tracking_number in page


def test_the_metrics_count_entries_at_a_stop_moved_away_apart_from_wrong_codes(
    client, courier, moved_to_luca, settings
):
    settings.METRICS_TOKEN = "metrics-token-for-tests-only"
    _type_at_the_stop(_signed_in(courier.user), moved_to_luca, wrong_code_for(moved_to_luca))

    metrics = client.get(
        reverse("metrics"), HTTP_AUTHORIZATION="Bearer metrics-token-for-tests-only"
    ).content.decode()

    assert 'otp_code_entries_total{outcome="moved_away"} 1.0' in metrics
    assert 'otp_code_entries_total{outcome="wrong"} 0.0' in metrics


def test_a_code_typed_as_the_stop_is_moved_away_is_recorded_not_refused(
    courier, out_for_delivery, ops, luca
):
    # Given Marco's entry reaching the layer just after operations moved the parcel
    shipment_move_to_route(
        shipment=out_for_delivery, route=RouteFactory(courier=luca, day=TODAY), actor=ops
    )

    # When the layer takes his entry
    result = shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code=plain_code(out_for_delivery),
        context=EntryContext(user=courier.user),
    )

    # Then it is recorded, not checked and not refused with an error that leaves no row
    assert result.outcome == CodeEntry.Outcome.MOVED_AWAY
    assert not result.delivered
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.MOVED_AWAY
    assert DeliveryCode.objects.get(shipment=out_for_delivery).status == "active"


def test_a_blocked_courier_at_a_stop_moved_away_is_recorded_as_blocked(
    courier, moved_to_luca, frozen_now
):
    EntryBlock.objects.create(user=courier.user, wrong_entries=10, blocked_at=frozen_now)

    _type_at_the_stop(_signed_in(courier.user), moved_to_luca, plain_code(moved_to_luca))

    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.BLOCKED


def test_a_code_typed_at_a_stop_already_finished_is_recorded(courier, out_for_delivery):
    # Given Marco's stop page left open in a tab after he recorded the failed attempt there
    marco = _signed_in(courier.user)
    marco.post(
        reverse("courier_stop_failed", args=[out_for_delivery.tracking_number]),
        {"reason": DeliveryAttempt.Reason.NOT_AT_HOME},
    )
    old_code = DeliveryCode.objects.filter(shipment=out_for_delivery).earliest("issued_at")

    # When he types the customer's code into it
    response = _type_at_the_stop(marco, out_for_delivery, plain_code(out_for_delivery))

    # Then the stop still says what happened there, and the entry is recorded, not counted
    assert "Failed attempt recorded here" in response.content.decode()
    assert CodeEntry.objects.get().outcome == CodeEntry.Outcome.EXPIRED
    old_code.refresh_from_db()
    assert old_code.wrong_attempts == 0
    assert Shipment.objects.get(pk=out_for_delivery.pk).wrong_code_entries == 0
