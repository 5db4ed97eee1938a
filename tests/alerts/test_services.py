"""Alerts: opened once per kind and subject, closed only by a person with a note."""

import pytest

from alerts.exceptions import AlertAlreadyResolved, ResolutionNoteRequired
from alerts.models import Alert
from alerts.selectors import open_alerts
from alerts.services import alert_open, alert_resolve
from tests.conftest import FROZEN_NOW, make_valuable_shipment

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipment(customer):
    return make_valuable_shipment(customer)


def test_opening_an_alert_records_kind_parcel_and_time(shipment):
    alert = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment, details="5 wrong codes")

    assert alert.kind == Alert.Kind.CODE_LOCKED
    assert alert.shipment == shipment
    assert alert.opened_at == FROZEN_NOW
    assert alert.is_open


def test_opening_the_same_open_alert_again_returns_it(shipment):
    first = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    again = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    assert again.pk == first.pk
    assert Alert.objects.count() == 1


def test_another_kind_for_the_same_parcel_is_another_alert(shipment):
    alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    alert_open(kind=Alert.Kind.PARCEL_HELD, shipment=shipment)

    assert Alert.objects.count() == 2


def test_a_person_alert_is_idempotent_without_a_parcel(courier):
    first = alert_open(kind=Alert.Kind.PERSON_BLOCKED, person=courier.user)

    again = alert_open(kind=Alert.Kind.PERSON_BLOCKED, person=courier.user)

    assert again.pk == first.pk


def test_after_resolving_a_new_occurrence_opens_a_new_alert(shipment, ops):
    first = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)
    alert_resolve(alert=first, actor=ops, note="New code sent, customer called.")

    second = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    assert second.pk != first.pk
    assert list(open_alerts()) == [second]


def test_resolving_keeps_who_when_and_the_note(shipment, ops):
    alert = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    alert_resolve(alert=alert, actor=ops, note="  Customer confirmed by phone.  ")

    alert.refresh_from_db()
    assert alert.resolved_by == ops
    assert alert.resolved_at == FROZEN_NOW
    assert alert.resolution_note == "Customer confirmed by phone."
    assert list(open_alerts()) == []


@pytest.mark.parametrize("note", ["", "   ", None])
def test_resolving_without_a_note_is_refused_and_changes_nothing(shipment, ops, note):
    alert = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)

    with pytest.raises(ResolutionNoteRequired):
        alert_resolve(alert=alert, actor=ops, note=note)

    alert.refresh_from_db()
    assert alert.is_open
    assert alert.resolved_by is None


def test_resolving_twice_keeps_the_first_note(shipment, ops):
    alert = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment)
    alert_resolve(alert=Alert.objects.get(pk=alert.pk), actor=ops, note="First")

    with pytest.raises(AlertAlreadyResolved):
        alert_resolve(alert=alert, actor=ops, note="Second")

    alert.refresh_from_db()
    assert alert.resolution_note == "First"
