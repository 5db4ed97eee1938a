"""Which hand-over service tells the retailer what (every webhook type has one), and the two
events a wrong code causes at the door, through the courier portal: `code.locked` after 5
wrong codes and `shipment.held` after 10 in all, each sent once, signed, without the code."""

import datetime

import pytest
from django.test import Client
from standardwebhooks.webhooks import Webhook

import handoff.services
from codes import tokens
from codes.models import DeliveryCode
from codes.services import EntryContext
from handoff.services import (
    shipment_add_to_route,
    shipment_hand_over_at_door,
    shipment_mark_out_for_delivery,
    shipment_mark_shipped,
    shipment_receive_at_pickup_point,
    shipment_record_failed_attempt,
    shipment_redirect_to_pickup_point,
)
from orders.models import Order, Shipment
from retailers.models import Retailer
from tests.conftest import (
    ROME,
    TODAY,
    make_valuable_shipment,
    out_again_on_its_day,
    plain_code,
    wrong_code_for,
)
from webhooks.models import EventType, WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _courier_not_blocked(settings):
    # One courier types every wrong code here; the per-person block is tested elsewhere.
    settings.COURIER_MAX_WRONG_ATTEMPTS = 100


@pytest.fixture
def shop(db):
    return Retailer.objects.create(name="Demo Shop")


def _sold_by(shipment, shop):
    Order.objects.filter(pk=shipment.order_id).update(retailer=shop, reference=shipment.pk)
    return Shipment.objects.get(pk=shipment.pk)


def _codes_in_any_form(shipment) -> set[str]:
    """Every way a code of the parcel could leak: plain, its check hash, its ciphertext."""
    leaks = set()
    for code in DeliveryCode.objects.filter(shipment=shipment):
        leaks |= {tokens.decrypt(code.code_encrypted), code.code_hash, code.code_encrypted}
    return leaks


def _type_at_the_door(courier_client, shipment, raw):
    return courier_client.post(f"/courier/stops/{shipment.tracking_number}/", {"code": raw})


def _assert_one_signed_event_without_code(receiver, secret, event_type, shipment):
    deliveries = WebhookDelivery.objects.filter(event_type=event_type)
    assert deliveries.count() == 1
    (delivery,) = deliveries
    assert delivery.shipment_id == shipment.pk
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    sent = [(h, b) for h, b in receiver.requests if h["webhook-id"] == delivery.message_id]
    assert len(sent) == 1
    headers, body = sent[0]
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == event_type
    assert payload["data"]["tracking_number"] == shipment.tracking_number
    for leak in _codes_in_any_form(shipment):
        assert leak not in body
    return payload


# --- code.locked and shipment.held through the courier portal ------------------------------


def test_five_wrong_codes_at_the_door_send_code_locked_once_signed_without_the_code(
    out_for_delivery, courier, shop, receiver, django_capture_on_commit_callbacks
):
    parcel = _sold_by(out_for_delivery, shop)
    _, secret = webhook_endpoint_create(retailer=shop, url=receiver.url, events=["code.locked"])
    portal = Client()
    portal.force_login(courier.user)
    right, wrong = plain_code(parcel), wrong_code_for(parcel)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert _type_at_the_door(portal, parcel, wrong).status_code == 200
        # Entries on the locked code are refused: no second event.
        _type_at_the_door(portal, parcel, wrong)
        _type_at_the_door(portal, parcel, right)

    payload = _assert_one_signed_event_without_code(receiver, secret, "code.locked", parcel)
    assert payload["data"]["status"] == "out_for_delivery"
    assert len(receiver.requests) == 1


def test_ten_wrong_codes_in_all_send_shipment_held_once_signed_without_the_code(
    out_for_delivery, courier, ops, shop, receiver, time_machine, django_capture_on_commit_callbacks
):
    parcel = _sold_by(out_for_delivery, shop)
    _, secret = webhook_endpoint_create(retailer=shop, url=receiver.url, events=["shipment.held"])
    portal = Client()
    portal.force_login(courier.user)

    wrong = wrong_code_for(parcel)
    with django_capture_on_commit_callbacks(execute=True):
        # The first code locks after 5; the courier records that the code could not be given.
        for _ in range(5):
            _type_at_the_door(portal, parcel, wrong)
        failed = portal.post(
            f"/courier/stops/{parcel.tracking_number}/failed/", {"reason": "no_code"}
        )
        assert failed.status_code == 302
    assert not WebhookDelivery.objects.exists()  # only shipment.held is asked for

    # On its new day, 5 more wrong codes of the new code make 10 in all: the parcel is held.
    out_again_on_its_day(parcel, ops, time_machine)
    wrong = wrong_code_for(parcel)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            _type_at_the_door(portal, parcel, wrong)
        # Held: further entries are refused and tell the retailer nothing new.
        _type_at_the_door(portal, parcel, wrong)

    parcel.refresh_from_db()
    assert parcel.wrong_code_entries == 10
    _assert_one_signed_event_without_code(receiver, secret, "shipment.held", parcel)
    assert len(receiver.requests) == 1


def test_an_endpoint_for_every_type_hears_both_locks_and_the_hold_once_each(
    out_for_delivery, courier, ops, shop, receiver, time_machine, django_capture_on_commit_callbacks
):
    parcel = _sold_by(out_for_delivery, shop)
    webhook_endpoint_create(retailer=shop, url=receiver.url)
    context = EntryContext(user=courier.user)

    def wrong_times(n):
        wrong = wrong_code_for(parcel)
        for _ in range(n):
            shipment_hand_over_at_door(shipment=parcel, raw_code=wrong, context=context)

    with django_capture_on_commit_callbacks(execute=True):
        wrong_times(6)
        shipment_record_failed_attempt(shipment=parcel, courier=courier, reason="no_code")
    out_again_on_its_day(parcel, ops, time_machine)
    with django_capture_on_commit_callbacks(execute=True):
        wrong_times(6)

    types = list(WebhookDelivery.objects.order_by("pk").values_list("event_type", flat=True))
    assert types.count("code.locked") == 2  # one per code
    assert types.count("shipment.held") == 1
    for _, body in receiver.requests:
        for leak in _codes_in_any_form(parcel):
            assert leak not in body


# --- Every event type has a hand-over service that sends it ---------------------------------
# Each scenario brings a parcel to where the service would tell the retailer, and returns
# the service's arguments.


def _shipped(parcel, ops, **_):
    return {"shipment": parcel, "actor": ops, "delivery_day": TODAY}


def _out_for_delivery(parcel, ops, route, **_):
    shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    shipment_add_to_route(shipment=parcel, route=route)
    return {"shipment": parcel, "actor": ops}


def _at_the_door(parcel, ops, route, courier, *, wrong_before: int, right=False):
    """The courier's next entry at the door, after `wrong_before` wrong ones."""
    shipment_mark_out_for_delivery(**_out_for_delivery(parcel, ops, route))
    context = EntryContext(user=courier.user)
    wrong = wrong_code_for(parcel)
    for _ in range(wrong_before):
        shipment_hand_over_at_door(shipment=parcel, raw_code=wrong, context=context)
    raw_code = plain_code(parcel) if right else wrong
    return {"shipment": parcel, "raw_code": raw_code, "context": context}


def _delivered(parcel, ops, route, courier, **_):
    return _at_the_door(parcel, ops, route, courier, wrong_before=0, right=True)


def _code_locked(parcel, ops, route, courier, settings, **_):
    return _at_the_door(
        parcel, ops, route, courier, wrong_before=settings.CODE_MAX_WRONG_ATTEMPTS - 1
    )


def _held(parcel, ops, route, courier, settings, **_):
    # The hold rule alone, before the code locks: the parcel's limit below the code's.
    settings.PARCEL_MAX_WRONG_ATTEMPTS = 2
    return _at_the_door(parcel, ops, route, courier, wrong_before=1)


def _delivery_failed(parcel, ops, route, courier, **_):
    shipment_mark_out_for_delivery(**_out_for_delivery(parcel, ops, route))
    return {"shipment": parcel, "courier": courier, "reason": "not_at_home"}


def _at_pickup_point(parcel, ops, pickup_point, **_):
    shipment_mark_shipped(shipment=parcel, actor=ops, delivery_day=TODAY)
    shipment_redirect_to_pickup_point(shipment=parcel, pickup_point=pickup_point, actor=ops)
    return {"shipment": parcel, "pickup_point": pickup_point, "actor": ops}


def _returned(parcel, ops, pickup_point, **_):
    shipment_receive_at_pickup_point(**_at_pickup_point(parcel, ops, pickup_point))
    parcel.refresh_from_db()
    after_last_day = datetime.datetime.combine(
        parcel.delivery_day + datetime.timedelta(days=1), datetime.time(0, 5), tzinfo=ROME
    )
    return {"now": after_last_day}


# Which hand-over service sends which event type.
EMITTERS = {
    EventType.SHIPPED: ("shipment_mark_shipped", _shipped),
    EventType.OUT_FOR_DELIVERY: ("shipment_mark_out_for_delivery", _out_for_delivery),
    EventType.DELIVERED: ("shipment_hand_over_at_door", _delivered),
    EventType.DELIVERY_FAILED: ("shipment_record_failed_attempt", _delivery_failed),
    EventType.AT_PICKUP_POINT: ("shipment_receive_at_pickup_point", _at_pickup_point),
    EventType.RETURNED: ("shipments_return_uncollected", _returned),
    EventType.CODE_LOCKED: ("shipment_hand_over_at_door", _code_locked),
    EventType.HELD: ("shipment_hand_over_at_door", _held),
}


def test_every_event_type_has_a_hand_over_service_that_sends_it():
    assert set(EMITTERS) == set(EventType)


@pytest.mark.parametrize("event_type", list(EventType), ids=lambda t: t.value)
def test_the_hand_over_service_sends_its_event_type(
    event_type, customer, ops, route, courier, pickup_point, shop, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    parcel = _sold_by(make_valuable_shipment(customer), shop)
    webhook_endpoint_create(retailer=shop, url="http://127.0.0.1:9/hooks")
    service, prepare = EMITTERS[event_type]
    arguments = prepare(
        parcel=parcel,
        ops=ops,
        route=route,
        courier=courier,
        pickup_point=pickup_point,
        settings=settings,
    )
    before = list(WebhookDelivery.objects.values_list("pk", flat=True))

    getattr(handoff.services, service)(**arguments)

    written = WebhookDelivery.objects.exclude(pk__in=before)
    assert list(written.values_list("event_type", "shipment_id")) == [(event_type, parcel.pk)]
