"""The pages as people meet them: branded error pages, the parcel's progress, labelled inputs."""

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Shipment
from orders.templatetags.tracking import shipment_progress
from tests.conftest import wrong_code_for
from tests.factories import PickupPointFactory, ShipmentFactory

pytestmark = pytest.mark.django_db

Status = Shipment.Status


def test_unknown_address_gets_the_branded_not_found_page(client):
    response = client.get("/no-such-page/")

    content = response.content.decode()
    assert response.status_code == 404
    assert "We cannot find this page" in content
    assert 'href="/static/css/site.css"' in content


def test_server_error_gets_the_branded_page_without_the_details(client, settings):
    settings.ROOT_URLCONF = "tests.urls_failing"
    client.raise_request_exception = False

    response = client.get("/boom/")

    content = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in content
    assert "RuntimeError" not in content


def test_expired_form_gets_the_branded_csrf_page_and_nothing_is_saved(customer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(customer)

    response = browser.post(reverse("logout"))

    assert response.status_code == 403
    assert "This page has expired" in response.content.decode()
    assert "_auth_user_id" in browser.session


def test_permission_denied_gets_the_branded_forbidden_page(client, settings):
    settings.ROOT_URLCONF = "tests.urls_failing"

    response = client.get("/forbidden/")

    assert response.status_code == 403
    assert "You cannot open this page" in response.content.decode()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            Status.PROCESSING,
            [
                ("Order placed", "current"),
                ("Shipped", "todo"),
                ("Out for delivery", "todo"),
                ("Delivered", "todo"),
            ],
        ),
        (
            Status.OUT_FOR_DELIVERY,
            [
                ("Order placed", "done"),
                ("Shipped", "done"),
                ("Out for delivery", "current"),
                ("Delivered", "todo"),
            ],
        ),
        (
            Status.DELIVERED,
            [
                ("Order placed", "done"),
                ("Shipped", "done"),
                ("Out for delivery", "done"),
                ("Delivered", "done"),
            ],
        ),
        (
            Status.DELIVERY_FAILED,
            [
                ("Order placed", "done"),
                ("Shipped", "done"),
                ("Delivery failed", "problem"),
                ("Delivered", "todo"),
            ],
        ),
        (
            Status.RETURNED,
            [("Order placed", "done"), ("Returned to sender", "problem")],
        ),
    ],
)
def test_progress_shows_how_far_the_parcel_has_come(status, expected):
    shipment = ShipmentFactory.build(status=status)

    steps = shipment_progress(shipment)

    assert [(str(step.label), step.state) for step in steps] == expected


def test_progress_of_a_parcel_for_a_pickup_point_ends_there():
    shipment = ShipmentFactory(status=Status.AT_PICKUP_POINT, pickup_point=PickupPointFactory())

    steps = shipment_progress(shipment)

    assert [(str(step.label), step.state) for step in steps][2:] == [
        ("At the pickup point", "current"),
        ("Delivered", "todo"),
    ]


def test_tracking_page_marks_the_current_step_for_screen_readers(
    client, customer, out_for_delivery
):
    client.force_login(customer)

    response = client.get(reverse("track", args=[out_for_delivery.tracking_number]))

    content = response.content.decode()
    assert 'aria-current="step"' in content
    assert "(current step)" in content


def test_wrong_code_error_is_tied_to_the_input_for_screen_readers(
    client, courier, out_for_delivery
):
    client.force_login(courier.user)

    response = client.post(
        reverse("courier_stop", args=[out_for_delivery.tracking_number]),
        {"code": wrong_code_for(out_for_delivery)},
    )

    content = response.content.decode()
    assert 'aria-invalid="true"' in content
    assert 'aria-describedby="id_code_helptext id_code_error"' in content
    assert 'id="id_code_error"' in content
    assert "autofocus" in content


@pytest.mark.parametrize("path", ["/accounts/login/", "/no-such-page/"])
def test_pages_carry_no_inline_style_or_script(client, path):
    content = client.get(path).content.decode()

    assert "style=" not in content
    assert "<style" not in content
    assert "<script>" not in content
