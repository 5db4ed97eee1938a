"""What may stand between a code's digits is one explicit table (issue 15, item 6).

Every character in codes.tokens.SEPARATORS is ignored; any other character that is not
an ASCII digit makes the entry malformed, and every malformed entry, empty and NUL
included, leaves a `malformed` audit row and counts against nobody, at the door and at
the counter alike.
"""

import pytest
from django.urls import reverse

from codes import tokens
from codes.models import CodeEntry, DeliveryCode, EntryBlock
from orders.models import Shipment
from tests.conftest import plain_code

pytestmark = pytest.mark.django_db

Outcome = CodeEntry.Outcome

# Not separators, though Python calls most of them whitespace: each makes the entry
# malformed.
NOT_SEPARATORS = {
    "\x00": "NUL",
    "\t": "tab",
    "\n": "line feed",
    "\r": "carriage return",
    "\x0b": "line tabulation",
    "\x0c": "form feed",
    "\x1c": "file separator",
    "\x1d": "group separator",
    "\x1e": "record separator",
    "\x1f": "unit separator",
    "\x85": "next line",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
    "\u200b": "zero width space",
    "\u2002": "en space",
    "\u2003": "em space",
    "\u1680": "ogham space mark",
    "\ufeff": "byte order mark",
    "_": "low line",
    ".": "full stop",
    "/": "solidus",
    "\u2043": "hyphen bullet",
    "\ufe63": "small hyphen-minus",
    "\uff0d": "full-width hyphen-minus",
}


def _door(client, courier, shipment):
    client.force_login(courier.user)
    return reverse("courier_stop", args=[shipment.tracking_number])


def _counter(client, operator, point):
    client.force_login(operator)
    return reverse("pickup_point", args=[point.pk])


@pytest.mark.parametrize("separator", list(tokens.SEPARATORS), ids=tokens.SEPARATORS.values())
def test_each_separator_in_the_table_is_ignored(separator):
    assert tokens.normalize(f"{separator}12{separator}3{separator}456{separator}") == "123456"


@pytest.mark.parametrize("character", list(NOT_SEPARATORS), ids=NOT_SEPARATORS.values())
def test_any_other_character_makes_the_entry_malformed(character):
    assert tokens.normalize(f"123{character}456") is None
    assert tokens.normalize(f"123456{character}") is None


@pytest.mark.parametrize("separator", list(tokens.SEPARATORS), ids=tokens.SEPARATORS.values())
def test_the_right_code_with_a_separator_hands_the_parcel_over_at_the_door(
    client, courier, out_for_delivery, separator
):
    digits = plain_code(out_for_delivery)

    client.post(
        _door(client, courier, out_for_delivery), {"code": f"{digits[:3]}{separator}{digits[3:]}"}
    )

    entry = CodeEntry.objects.get()
    assert entry.outcome == Outcome.CORRECT
    assert Shipment.objects.get(pk=out_for_delivery.pk).status == Shipment.Status.DELIVERED


MALFORMED = {"": "empty", **{f"123{c}456": name for c, name in NOT_SEPARATORS.items()}}


def _recorded_malformed_and_counted_nothing(user, shipment):
    entry = CodeEntry.objects.get()
    assert (entry.outcome, entry.user) == (Outcome.MALFORMED, user)
    assert Shipment.objects.get(pk=shipment.pk).wrong_code_entries == 0
    assert not DeliveryCode.objects.filter(wrong_attempts__gt=0).exists()
    assert not EntryBlock.objects.exists()


@pytest.mark.parametrize("raw", list(MALFORMED), ids=MALFORMED.values())
def test_a_malformed_entry_at_the_door_is_recorded_and_never_counted(
    client, courier, out_for_delivery, raw
):
    response = client.post(_door(client, courier, out_for_delivery), {"code": raw})

    assert response.status_code == 200
    assert "A delivery code is exactly six digits" in response.content.decode()
    _recorded_malformed_and_counted_nothing(courier.user, out_for_delivery)
    assert CodeEntry.objects.get().shipment == out_for_delivery


@pytest.mark.parametrize("raw", list(MALFORMED), ids=MALFORMED.values())
def test_a_malformed_entry_at_the_counter_is_recorded_and_never_counted(
    client, operator, pickup_point, at_pickup_point, raw
):
    response = client.post(_counter(client, operator, pickup_point), {"code": raw})

    assert response.status_code == 200
    assert "A delivery code is exactly six digits" in response.content.decode()
    _recorded_malformed_and_counted_nothing(operator, at_pickup_point)
    assert CodeEntry.objects.get().pickup_point == pickup_point


def test_a_form_without_the_code_field_is_a_malformed_entry(client, courier, out_for_delivery):
    client.post(_door(client, courier, out_for_delivery), {})

    _recorded_malformed_and_counted_nothing(courier.user, out_for_delivery)
