"""The admin's Alerts list: open alerts with their tracking numbers, resolved with a note."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from alerts.models import Alert
from alerts.services import alert_open, alert_resolve
from tests.conftest import make_valuable_shipment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:alerts_alert_changelist"


@pytest.fixture
def ops_client(client, ops):
    client.force_login(ops)
    return client


@pytest.fixture
def locked_alert(customer):
    shipment = make_valuable_shipment(customer)
    return alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=shipment, details="5 wrong codes")


def test_admin_index_links_to_alerts(ops_client):
    response = ops_client.get(reverse("admin:index"))

    assert reverse(CHANGELIST) in response.text
    assert ">Alerts<" in response.text


def test_alert_list_shows_an_open_alert_with_its_tracking_number(ops_client, locked_alert):
    response = ops_client.get(reverse(CHANGELIST))

    tracking = locked_alert.shipment.tracking_number
    assert f'data-tracking-number="{tracking}"' in response.text
    assert "Code locked after wrong codes" in response.text


def test_alert_list_opens_on_open_alerts_only(ops_client, locked_alert, ops, customer):
    resolved = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=make_valuable_shipment(customer))
    alert_resolve(alert=resolved, actor=ops, note="Handled")

    response = ops_client.get(reverse(CHANGELIST))

    assert locked_alert.shipment.tracking_number in response.text
    assert resolved.shipment.tracking_number not in response.text


def test_alert_list_filters_resolved_alerts(ops_client, locked_alert, ops, customer):
    resolved = alert_open(kind=Alert.Kind.CODE_LOCKED, shipment=make_valuable_shipment(customer))
    alert_resolve(alert=resolved, actor=ops, note="Handled")

    response = ops_client.get(reverse(CHANGELIST) + "?state=resolved")

    assert resolved.shipment.tracking_number in response.text
    assert locked_alert.shipment.tracking_number not in response.text


def test_alert_list_filters_by_kind(ops_client, locked_alert, customer):
    held = alert_open(kind=Alert.Kind.PARCEL_HELD, shipment=make_valuable_shipment(customer))

    response = ops_client.get(reverse(CHANGELIST) + "?kind=parcel_held")

    assert held.shipment.tracking_number in response.text
    assert locked_alert.shipment.tracking_number not in response.text


def test_resolve_form_closes_the_alert_with_the_note(ops_client, locked_alert, ops):
    response = ops_client.post(
        reverse("admin:alerts_alert_resolve", args=[locked_alert.pk]),
        {"note": "Customer called, new code on its way."},
    )

    locked_alert.refresh_from_db()
    assert response.status_code == 302
    assert locked_alert.resolved_by == ops
    assert locked_alert.resolution_note == "Customer called, new code on its way."


def test_resolve_form_without_a_note_is_refused(ops_client, locked_alert):
    response = ops_client.post(
        reverse("admin:alerts_alert_resolve", args=[locked_alert.pk]), {"note": "  "}
    )

    locked_alert.refresh_from_db()
    assert response.status_code == 200
    assert locked_alert.is_open


def test_resolve_action_asks_for_a_note_then_resolves_the_selection(ops_client, locked_alert):
    url = reverse(CHANGELIST)
    form = {"action": "resolve_alerts", "_selected_action": [locked_alert.pk]}

    asked = ops_client.post(url, form)
    done = ops_client.post(url, {**form, "apply": "1", "note": "Checked with the courier."})

    locked_alert.refresh_from_db()
    assert 'name="note"' in asked.text
    assert done.status_code == 302
    assert locked_alert.resolution_note == "Checked with the courier."


def test_resolve_action_without_a_note_resolves_nothing(ops_client, locked_alert):
    ops_client.post(
        reverse(CHANGELIST),
        {
            "action": "resolve_alerts",
            "_selected_action": [locked_alert.pk],
            "apply": "1",
            "note": "",
        },
    )

    locked_alert.refresh_from_db()
    assert locked_alert.is_open


def test_alert_change_page_is_read_only(ops_client, locked_alert):
    response = ops_client.get(reverse("admin:alerts_alert_change", args=[locked_alert.pk]))

    assert response.status_code == 200
    assert 'name="details"' not in response.text
    assert 'name="_save"' not in response.text


def test_alerts_cannot_be_added_or_deleted_in_the_admin(ops_client, locked_alert):
    add = ops_client.get(reverse("admin:alerts_alert_add"))
    delete = ops_client.post(
        reverse("admin:alerts_alert_delete", args=[locked_alert.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert Alert.objects.filter(pk=locked_alert.pk).exists()


def test_staff_without_the_permission_cannot_resolve(client, locked_alert):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(*_perms("view_alert", "view_shipment"))
    client.force_login(viewer)

    response = client.post(
        reverse("admin:alerts_alert_resolve", args=[locked_alert.pk]), {"note": "I can't"}
    )

    locked_alert.refresh_from_db()
    assert response.status_code == 403
    assert locked_alert.is_open


def _perms(*codenames):
    return Permission.objects.filter(codename__in=codenames)
