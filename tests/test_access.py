"""Access matrix: every role × every page × objects that are not theirs → a 404 (never a
403 that confirms the object exists) or the sign-in page, and nothing is written.

The world: alice's parcel with courier marco today; bruno's parcel held at the point run
by edicola; a parcel released there earlier. Everyone else is a stranger to them.
"""

import pytest
from django.urls import reverse

from codes.models import CodeEmail, CodeEntry
from codes.services import EntryContext
from couriers.models import DeliveryAttempt
from handoff.services import shipment_hand_over_at_counter
from orders.models import Shipment, TrackingEvent
from tests.conftest import make_parcel_at, plain_code
from tests.factories import CourierFactory, RouteFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [
    "customer",
    "other_customer",
    "courier",
    "other_courier",
    "operator",
    "other_operator",
    "ops_viewer",
    "anonymous",
]


@pytest.fixture
def world(out_for_delivery, customer, courier, ops, pickup_point, operator, other_point):
    bruno = UserFactory(username="bruno")
    held = make_parcel_at(pickup_point, bruno, ops)
    released = make_parcel_at(pickup_point, bruno, ops)
    shipment_hand_over_at_counter(
        pickup_point=pickup_point,
        raw_code=plain_code(released),
        context=EntryContext(user=operator),
    )
    other_courier = CourierFactory(user=UserFactory(username="luca"))
    RouteFactory(courier=other_courier, day=out_for_delivery.delivery_day)
    people = {
        "customer": customer,
        "other_customer": UserFactory(username="carla"),
        "courier": courier.user,
        "other_courier": other_courier.user,
        "operator": operator,
        "other_operator": other_point.operators.get(),
        # Staff who may open the admin but were given no permission on parcels.
        "ops_viewer": UserFactory(username="viewer", is_staff=True),
        "anonymous": None,
    }
    return {
        "people": people,
        "alice_parcel": out_for_delivery,
        "bruno_parcel": held,
        "released": released,
        "point": pickup_point,
    }


def _pages(world):
    """(name, method, url, data, owners): owners may use the page; nobody else may."""
    alice = world["alice_parcel"].tracking_number
    bruno = world["bruno_parcel"].tracking_number
    released = world["released"].tracking_number
    point = world["point"].pk
    shipment_admin = reverse("admin:orders_shipment_change", args=[world["alice_parcel"].pk])
    return [
        ("track", "get", reverse("track", args=[alice]), None, {"customer"}),
        ("track other", "get", reverse("track", args=[bruno]), None, set()),
        ("resend", "post", reverse("track_resend", args=[alice]), {}, {"customer"}),
        (
            "redirect",
            "post",
            reverse("track_redirect", args=[alice]),
            {"pickup_point": point},
            {"customer"},
        ),
        ("stop", "get", reverse("courier_stop", args=[alice]), None, {"courier"}),
        (
            "enter code",
            "post",
            reverse("courier_stop", args=[alice]),
            {"code": "135792"},
            {"courier"},
        ),
        (
            "failed",
            "post",
            reverse("courier_stop_failed", args=[alice]),
            {"reason": "not_at_home"},
            {"courier"},
        ),
        ("dropped", "post", reverse("courier_stop_dropped", args=[alice]), {}, {"courier"}),
        ("point", "get", reverse("pickup_point", args=[point]), None, {"operator"}),
        (
            "release",
            "post",
            reverse("pickup_point", args=[point]),
            {"code": "135792"},
            {"operator"},
        ),
        (
            "receive",
            "post",
            reverse("pickup_receive", args=[point]),
            {"tracking_number": bruno},
            {"operator"},
        ),
        ("released", "get", reverse("pickup_released", args=[point, released]), None, {"operator"}),
        ("admin parcel", "get", shipment_admin, None, set()),
        (
            "admin override",
            "post",
            reverse("admin:orders_shipment_hand_over", args=[world["alice_parcel"].pk]),
            {"reason": "x" * 20, "confirm": "on"},
            set(),
        ),
        ("admin audit", "get", reverse("admin:codes_codeentry_changelist"), None, set()),
        ("admin dashboard", "get", reverse("dashboard"), None, set()),
    ]


# Who may use each page of the world above; for everyone else it must not exist.
OWNERS = {
    "track": {"customer"},
    "track other": set(),
    "redirect": {"customer"},
    "resend": {"customer"},
    "stop": {"courier"},
    "enter code": {"courier"},
    "failed": {"courier"},
    "dropped": {"courier"},
    "point": {"operator"},
    "release": {"operator"},
    "receive": {"operator"},
    "released": {"operator"},
    "admin parcel": set(),
    "admin override": set(),
    "admin audit": set(),
    "admin dashboard": set(),
}
STRANGERS = [
    (role, page) for page, owners in OWNERS.items() for role in ROLES if role not in owners
]


def _snapshot():
    return (
        list(
            Shipment.objects.order_by("pk").values_list(
                "status", "wrong_code_entries", "pickup_point"
            )
        ),
        CodeEntry.objects.count(),
        DeliveryAttempt.objects.count(),
        TrackingEvent.objects.count(),
        CodeEmail.objects.count(),
    )


@pytest.mark.parametrize(("role", "page_name"), STRANGERS)
def test_nobody_reaches_what_is_not_theirs(client, world, role, page_name):
    name, method, url, data, owners = next(p for p in _pages(world) if p[0] == page_name)
    assert owners == OWNERS[name]
    user = world["people"][role]
    if user is not None:
        client.force_login(user)
    before = _snapshot()

    response = getattr(client, method)(url, data or {})

    if url.startswith("/admin/"):
        assert response.status_code in {302, 403}, (role, name)
        if response.status_code == 302:
            assert response.url.startswith("/admin/login/"), (role, name)
    elif user is None:
        assert response.status_code == 302, (role, name)
        assert response.url.startswith(reverse("login")), (role, name)
    else:
        assert response.status_code == 404, (role, name)
    assert _snapshot() == before, (role, name)


@pytest.mark.parametrize("page_name", ["track", "stop", "point", "released"])
def test_owners_do_reach_their_pages(client, world, page_name):
    name, _method, url, _data, owners = next(p for p in _pages(world) if p[0] == page_name)
    client.force_login(world["people"][next(iter(owners))])

    assert client.get(url).status_code == 200


def test_operations_reach_the_admin_pages(client, world, ops):
    client.force_login(ops)

    for name, method, url, _data, _owners in _pages(world):
        if url.startswith("/admin/") and method == "get":
            assert client.get(url).status_code == 200, name


@pytest.mark.parametrize(
    ("role", "url_name"),
    [
        ("other_customer", "order_list"),
        ("courier", "order_list"),
        ("other_courier", "courier_today"),
        ("other_operator", "pickup_home"),
    ],
)
def test_lists_show_nobody_elses_parcels(client, world, role, url_name):
    client.force_login(world["people"][role])

    response = client.get(reverse(url_name), follow=True)

    content = response.content.decode()
    assert response.status_code == 200
    for parcel in ("alice_parcel", "bruno_parcel", "released"):
        assert world[parcel].tracking_number not in content, parcel


@pytest.mark.parametrize("role", ["customer", "courier", "operator"])
def test_the_admin_is_closed_to_everyone_but_staff(client, world, role):
    client.force_login(world["people"][role])

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_every_portal_url_is_in_the_matrix(world):
    from django.urls import get_resolver

    covered = {"track", "track_redirect", "track_resend", "courier_stop", "courier_stop_failed"}
    covered |= {"courier_stop_dropped", "pickup_point", "pickup_receive", "pickup_released"}
    # Pages with no object in their address: they only ever list the person's own.
    listing = {"courier_today", "pickup_home", "order_list", "home"}
    site_wide = {"healthz", "bench_baseline", "bench_entry_floor", "set_language"}
    # The admin's dashboard (in the matrix above) and /metrics (bearer token: tests/dashboard).
    operations = {"dashboard", "metrics"}
    # The retailer API: a key, not a person; tests/api/test_api.py checks 401 without a
    # valid key and 404 for another retailer's order or parcel, on every call.
    api = {"api_orders", "api_order", "api_shipment", "api_shipment_ship", "api_pickup_points"}
    api |= {"api_webhook_endpoints", "api_webhook_endpoint", "api_schema", "api_docs"}

    def names(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                if "admin" not in str(pattern.pattern) and "accounts" not in str(pattern.pattern):
                    yield from names(pattern.url_patterns)
            elif pattern.name:
                yield pattern.name

    assert set(names(get_resolver().url_patterns)) <= (
        covered | listing | site_wide | operations | api
    )
