"""otpdelivery.writes: writes gathered from several services, sent as one statement."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from codes.models import CodeEmail, CodeEntry, DeliveryCode
from orders.models import Shipment, TrackingEvent
from otpdelivery import writes as write_batches
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


def _write_a_delivery(batch, shipment, courier, when):
    shipment.status = Shipment.Status.DELIVERED
    shipment.delivered_at = when
    shipment.delivered_by = courier.user
    batch.update_fields(shipment, ["status", "delivered_at", "delivered_by"])


def _write_an_undelivery(batch, shipment, courier, when):
    # NULLs where the other call had values: the same compiled shape
    batch.update(Shipment, shipment.pk, delivered_at=None, delivered_by=None)


def _write_an_entry(batch, shipment, courier, when):
    code = DeliveryCode.objects.get(shipment=shipment)
    entry = CodeEntry(
        shipment=shipment,
        code=code,
        user=courier.user,
        outcome=CodeEntry.Outcome.WRONG,
        client_ip="203.0.113.7",
        latitude=Decimal("41.902783"),
        longitude=None,
        created_at=when,
    )
    batch.insert(entry)


def _write_an_email_once(batch, shipment, courier, when):
    code = DeliveryCode.objects.get(shipment=shipment)
    email = CodeEmail(code=code, purpose="wrong_code", requested_at=when)
    batch.insert(email, ignore_conflicts=True)


def _write_a_count(batch, shipment, courier, when):
    batch.update(Shipment, shipment.pk, wrong_code_entries=F("wrong_code_entries") + 1)


@pytest.mark.parametrize(
    "write",
    [
        _write_a_delivery,
        _write_an_undelivery,
        _write_an_entry,
        _write_an_email_once,
        _write_a_count,
    ],
)
def test_a_write_of_a_shape_already_compiled_is_what_the_orm_compiles(
    write, out_for_delivery, courier
):
    # Given the write made once, so that its shape is compiled
    write(WriteBatch(), out_for_delivery, courier, FROZEN_NOW)

    # When it is made again with other values, from the compiled shape and afresh
    later = FROZEN_NOW + datetime.timedelta(minutes=7)
    from_shape = WriteBatch()
    write(from_shape, out_for_delivery, courier, later)
    write_batches._COMPILED.clear()
    compiled = WriteBatch()
    write(compiled, out_for_delivery, courier, later)

    # Then both send the same SQL with the same parameters
    assert from_shape._writes == compiled._writes
