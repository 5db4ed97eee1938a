"""Rule 10: the audit trail of code entries is append-only, in the database layer and in
the admin, whoever asks."""

import pytest
from django.urls import reverse

from codes.models import CodeEntry
from codes.services import EntryContext
from handoff.services import shipment_hand_over_at_door

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(out_for_delivery, courier):
    shipment_hand_over_at_door(
        shipment=out_for_delivery,
        raw_code="12a456",
        context=EntryContext(user=courier.user, client_ip="10.0.0.7"),
    )
    return CodeEntry.objects.get()


def test_bulk_update_of_entries_is_refused(entry):
    with pytest.raises(PermissionError):
        CodeEntry.objects.filter(pk=entry.pk).update(outcome=CodeEntry.Outcome.CORRECT)

    entry.refresh_from_db()
    assert entry.outcome == CodeEntry.Outcome.MALFORMED


def test_bulk_delete_of_entries_is_refused(entry):
    with pytest.raises(PermissionError):
        CodeEntry.objects.all().delete()

    assert CodeEntry.objects.count() == 1


def test_admin_delete_page_of_an_entry_is_forbidden(client, ops, entry):
    client.force_login(ops)

    response = client.post(
        reverse("admin:codes_codeentry_delete", args=[entry.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert CodeEntry.objects.count() == 1


def test_admin_bulk_delete_action_is_not_offered_for_entries(client, ops, entry):
    client.force_login(ops)

    response = client.post(
        reverse("admin:codes_codeentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert response.status_code in {200, 302}
    assert CodeEntry.objects.count() == 1


def test_admin_entry_page_is_read_only(client, ops, entry):
    client.force_login(ops)

    response = client.get(reverse("admin:codes_codeentry_change", args=[entry.pk]))
    content = response.content.decode()

    assert response.status_code == 200
    assert 'name="_save"' not in content
    assert "deletelink" not in content
    assert "10.0.0.7" in content


def test_admin_edit_of_an_entry_is_refused(client, ops, entry):
    client.force_login(ops)

    client.post(
        reverse("admin:codes_codeentry_change", args=[entry.pk]),
        {"outcome": "correct", "reason": "tampered"},
    )

    entry.refresh_from_db()
    assert (entry.outcome, entry.reason) == (CodeEntry.Outcome.MALFORMED, "")
