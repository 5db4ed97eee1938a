"""API keys in the admin: created there, shown once, stored hashed, revocable."""

import pytest
from django.core.management import call_command

from retailers.models import ApiKey, Retailer

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_and_shows_it_once(client, ops, retailer):
    client.force_login(ops)
    response = client.post(
        "/admin/retailers/apikey/add/", {"retailer": retailer.pk, "name": "warehouse"}
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="warehouse")
    page = response.content.decode()
    raw_key = page.split('id="new-api-key" type="text" readonly value="')[1].split('"')[0]
    assert raw_key.startswith(api_key.prefix)
    assert "no-store" in response["Cache-Control"]
    # The key works, and no later page shows it again.
    assert (
        client.get("/api/v1/orders", headers={"Authorization": f"Bearer {raw_key}"}).status_code
        == 200
    )
    change = client.get(f"/admin/retailers/apikey/{api_key.pk}/change/").content.decode()
    assert raw_key not in change
    assert raw_key not in client.get("/admin/retailers/apikey/").content.decode()


def test_admin_revokes_a_key(client, ops, api_key):
    client.force_login(ops)
    client.post(
        "/admin/retailers/apikey/",
        {"action": "revoke", "_selected_action": [api_key[0].pk]},
    )
    api_key[0].refresh_from_db()
    assert api_key[0].is_revoked
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {api_key[1]}"})
    assert response.status_code == 401


def test_admin_cannot_delete_a_key(client, ops, api_key):
    client.force_login(ops)
    response = client.post(f"/admin/retailers/apikey/{api_key[0].pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ApiKey.objects.filter(pk=api_key[0].pk).exists()


def test_seed_demo_gives_demo_shop_its_key_and_the_demo_orders(client):
    call_command("seed_demo")
    call_command("seed_demo")
    shop = Retailer.objects.get(name="Demo Shop")
    assert shop.api_keys.count() == 1
    response = client.get(
        "/api/v1/orders?limit=100", headers={"Authorization": "Bearer demo-shop-api-key"}
    )
    assert response.status_code == 200
    assert response.json()["count"] == shop.orders.count() > 0
