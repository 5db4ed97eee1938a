"""otpdelivery.writes: writes gathered from several services, sent as one statement."""

import pytest
from django.db import connection
from django.db.models import F

from codes.models import CodeEmail, DeliveryCode
from orders.models import Shipment, TrackingEvent
from otpdelivery.writes import WriteBatch
from tests.conftest import FROZEN_NOW

pytestmark = pytest.mark.django_db


def test_a_batch_writes_what_the_orm_would_in_one_statement_on_postgresql(
    out_for_delivery, courier, django_assert_num_queries
):
    # Given an update with an expression, a row's fields and a new row
    code = DeliveryCode.objects.get(shipment=out_for_delivery)
    out_for_delivery.status = Shipment.Status.DELIVERED
    out_for_delivery.delivered_at = FROZEN_NOW
    event = TrackingEvent(
        shipment=out_for_delivery, status="delivered", actor=courier.user, created_at=FROZEN_NOW
    )
    writes = WriteBatch()
    writes.update(DeliveryCode, code.pk, wrong_attempts=F("wrong_attempts") + 2)
    writes.update_fields(out_for_delivery, ["status", "delivered_at"])
    writes.insert(event)

    # When it is sent
    statements = 1 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(statements):
        writes.send()

    # Then each write is in the database, and the new row has its key
    assert DeliveryCode.objects.get(pk=code.pk).wrong_attempts == code.wrong_attempts + 2
    saved = Shipment.objects.get(pk=out_for_delivery.pk)
    assert (saved.status, saved.delivered_at) == ("delivered", FROZEN_NOW)
    assert TrackingEvent.objects.get(pk=event.pk).actor == courier.user
    assert len(writes) == 0


def test_a_row_a_unique_constraint_refuses_is_skipped_when_asked(out_for_delivery):
    # Given the code's first wrong-code email already asked for
    code = DeliveryCode.objects.get(shipment=out_for_delivery)
    CodeEmail.objects.create(code=code, purpose="wrong_code", requested_at=FROZEN_NOW)
    seen = []
    writes = WriteBatch()
    again = CodeEmail(code=code, purpose="wrong_code", requested_at=FROZEN_NOW)
    other = CodeEmail(code=code, purpose="resent", requested_at=FROZEN_NOW)
    writes.insert(again, ignore_conflicts=True, then=seen.append)
    writes.insert(other, ignore_conflicts=True, then=seen.append)

    # When the batch asks for it again, with another email
    writes.send()

    # Then the second ask is skipped (no key), the other email written, each one told
    assert again.pk is None
    assert CodeEmail.objects.filter(purpose="wrong_code").count() == 1
    assert CodeEmail.objects.get(pk=other.pk).purpose == "resent"
    assert seen == [again, other]
