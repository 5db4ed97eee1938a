"""A retailer with a key, another with its own, and a JSON client for the API."""

import json

import pytest
from django.core.cache import cache

from retailers.models import Retailer
from retailers.services import api_key_create


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def retailer(db):
    return Retailer.objects.create(name="Demo Shop")


@pytest.fixture
def other_retailer(db):
    return Retailer.objects.create(name="Other Shop")


@pytest.fixture
def api_key(retailer):
    return api_key_create(retailer=retailer, name="shop backend")


@pytest.fixture
def other_api_key(other_retailer):
    return api_key_create(retailer=other_retailer, name="other backend")


class ApiClient:
    """The Django test client speaking JSON with a bearer key."""

    def __init__(self, client, raw_key):
        self.client = client
        self.raw_key = raw_key

    def _headers(self, headers):
        auth = {"Authorization": f"Bearer {self.raw_key}"} if self.raw_key else {}
        return {**auth, **(headers or {})}

    def get(self, url, headers=None):
        return self.client.get(url, headers=self._headers(headers))

    def post(self, url, body=None, headers=None, content_type="application/json"):
        data = body if isinstance(body, str | bytes) else json.dumps(body or {})
        return self.client.post(
            url, data=data, content_type=content_type, headers=self._headers(headers)
        )

    def delete(self, url, headers=None):
        return self.client.delete(url, headers=self._headers(headers))


@pytest.fixture
def api(client, api_key):
    return ApiClient(client, api_key[1])


@pytest.fixture
def other_api(client, other_api_key):
    return ApiClient(client, other_api_key[1])


@pytest.fixture
def anonymous_api(client):
    return ApiClient(client, None)


def order_body(**overrides):
    body = {
        "reference": "SHOP-1001",
        "customer": {"email": "dora@example.com", "name": "Dora Esposito", "language": "it"},
        "delivery_address": "Via Toledo 10\n80134 Napoli NA",
        "items": [
            {
                "name": "Camera",
                "quantity": 1,
                "unit_price": "650.00",
                "requires_secure_delivery": False,
            }
        ],
    }
    body.update(overrides)
    return body
