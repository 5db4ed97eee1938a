"""Concurrent requests on PostgreSQL: one Idempotency-Key, one order."""

import json

import pytest
from django.test import Client

from orders.models import Order
from retailers.models import Retailer
from retailers.services import api_key_create
from tests.conftest import race

from .conftest import order_body

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_requests_with_one_key_create_one_order(postgresql_only):
    retailer = Retailer.objects.create(name="Racing Shop")
    _, raw_key = api_key_create(retailer=retailer, name="backend")
    body = json.dumps(order_body())

    def post(_):
        response = Client().post(
            "/api/v1/orders",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw_key}", "Idempotency-Key": "same"},
        )
        return response.status_code, response.json()["number"]

    results, errors = race(post, 8)
    assert errors == []
    assert Order.objects.count() == 1
    assert sorted(status for status, _ in results) == [200] * 7 + [201]
    assert len({number for _, number in results}) == 1


def test_concurrent_requests_with_one_reference_create_one_order(postgresql_only):
    retailer = Retailer.objects.create(name="Racing Shop")
    _, raw_key = api_key_create(retailer=retailer, name="backend")
    body = json.dumps(order_body())

    def post(_):
        return (
            Client()
            .post(
                "/api/v1/orders",
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {raw_key}"},
            )
            .status_code
        )

    results, errors = race(post, 6)
    assert errors == []
    assert Order.objects.count() == 1
    assert sorted(results) == [201] + [400] * 5
