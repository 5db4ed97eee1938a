"""The lock helpers: on PostgreSQL the parcel's lock reads what the ORM's version reads."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from handoff import locks
from orders.models import Shipment
from tests.conftest import make_parcel_at

pytestmark = pytest.mark.django_db


def _facts(shipment):
    return [
        None
        if row is None
        else {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields}
        for row in (shipment, shipment.order, shipment.pickup_point)
    ]


@pytest.mark.parametrize("bound_for", ["a door", "a pickup point"])
def test_the_parcels_lock_reads_what_the_orm_reads(
    postgresql_only,
    customer,
    ops,
    out_for_delivery,
    pickup_point,
    bound_for,
    django_assert_num_queries,
):
    # Given a parcel bound for a door or held at a pickup point
    shipment = (
        out_for_delivery if bound_for == "a door" else make_parcel_at(pickup_point, customer, ops)
    )

    # When both lock it
    with transaction.atomic():
        with django_assert_num_queries(1):
            with_sql = _facts(locks.lock_shipment(shipment.pk))
        with_orm = _facts(locks.lock_shipment_with_orm(shipment.pk))

    # Then they read the same parcel, order and point, in one statement
    assert with_sql == with_orm


def test_locking_someone_or_something_gone_raises(db):
    with transaction.atomic(), pytest.raises(get_user_model().DoesNotExist):
        locks.lock_person(get_user_model()(pk=987654))
    with transaction.atomic(), pytest.raises(Shipment.DoesNotExist):
        locks.lock_shipment(987654)
