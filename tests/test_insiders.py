"""Operations never become a code's receiver (issue 15, item 1; rule 9).

A staff user with the permissions operations have (change orders, parcels, people) tries
every way to make themselves, or an address they control, the receiver of a parcel's
code: the order's customer, its email address and language, the parcel's order, and the
customer's own email address and password. Each is refused, and they never see the code.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.forms import MultiWidget
from django.urls import reverse

from alerts.models import Alert
from codes import tokens
from codes.models import DeliveryCode
from codes.services import code_issue
from handoff.recipients import order_change_recipient
from orders.models import Order, Shipment
from tests.conftest import plain_code
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff_with(*codenames):
    staff = UserFactory(username="insider", email="insider@example.com", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return staff


def _post_data(response) -> dict:
    """What the browser would post back from an admin change page, unchanged."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = field.prepare_value(form.initial.get(name, field.initial))
        if value is None:
            continue
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, (list, tuple)):
            data[name] = [str(v) for v in value]
        else:
            data[name] = value
    for formset in response.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{management.prefix}-{name}"] = management.initial.get(name, 0)
        for inline_form in formset.formset.forms:
            for name, field in inline_form.fields.items():
                value = field.prepare_value(inline_form.initial.get(name, field.initial))
                if value is not None:
                    data[inline_form.add_prefix(name)] = value
    return {key: value for key, value in data.items() if value is not False}


def _change(client, url, **changes):
    page = client.get(url)
    assert page.status_code == 200
    response = client.post(url, {**_post_data(page), **changes})
    # Saved (the form was valid): the fields not changed were ignored, not refused.
    assert response.status_code == 302, response.context["adminform"].form.errors
    return response


def _sees_code(client, shipment) -> bool:
    response = client.get(reverse("track", args=[shipment.tracking_number]))
    return response.status_code == 200 and plain_code(shipment) in response.content.decode()


def test_staff_changing_an_orders_customer_to_themselves_does_not_see_the_code(
    client, out_for_delivery, customer
):
    staff = _staff_with("view_order", "change_order")
    client.force_login(staff)
    order = out_for_delivery.order

    _change(client, reverse("admin:orders_order_change", args=[order.pk]), customer=staff.pk)

    order.refresh_from_db()
    assert order.customer == customer
    assert not _sees_code(client, out_for_delivery)


@pytest.mark.parametrize(("field", "value"), [("email", "insider@example.com"), ("language", "it")])
def test_staff_cannot_change_where_an_orders_codes_are_sent(client, out_for_delivery, field, value):
    client.force_login(_staff_with("view_order", "change_order"))
    order = out_for_delivery.order
    before = getattr(order, field)

    _change(client, reverse("admin:orders_order_change", args=[order.pk]), **{field: value})

    order.refresh_from_db()
    assert getattr(order, field) == before


def test_staff_cannot_move_a_parcel_to_their_own_order(client, out_for_delivery):
    staff = _staff_with("view_shipment", "change_shipment", "add_order")
    own_order = OrderFactory(customer=staff)
    client.force_login(staff)

    _change(
        client,
        reverse("admin:orders_shipment_change", args=[out_for_delivery.pk]),
        order=own_order.pk,
    )

    assert Shipment.objects.get(pk=out_for_delivery.pk).order_id != own_order.pk
    assert not _sees_code(client, out_for_delivery)


def test_staff_cannot_change_a_customers_email_address(client, out_for_delivery, customer):
    client.force_login(_staff_with("view_user", "change_user"))
    before = customer.email

    _change(client, reverse("admin:auth_user_change", args=[customer.pk]), email="me@example.com")

    customer.refresh_from_db()
    assert customer.email == before


def test_staff_cannot_set_a_customers_password(client, customer):
    client.force_login(_staff_with("view_user", "change_user"))

    response = client.post(
        reverse("admin:auth_user_password_change", args=[customer.pk]),
        {"password1": "taken-over-123", "password2": "taken-over-123"},
    )

    customer.refresh_from_db()
    assert response.status_code == 403
    assert not customer.check_password("taken-over-123")


@pytest.mark.parametrize("field", ["is_superuser", "is_staff"])
def test_staff_cannot_widen_anyones_rights(client, field):
    staff = _staff_with("view_user", "change_user")
    other = UserFactory(username="someone")
    client.force_login(staff)

    for person in (staff, other):
        _change(client, reverse("admin:auth_user_change", args=[person.pk]), **{field: "on"})
        person.refresh_from_db()
        assert getattr(person, field) is (person == staff and field == "is_staff")


def test_staff_cannot_give_themselves_permissions(client):
    staff = _staff_with("view_user", "change_user")
    client.force_login(staff)
    everything = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]

    _change(
        client,
        reverse("admin:auth_user_change", args=[staff.pk]),
        user_permissions=everything,
    )

    assert staff.user_permissions.count() == 2


def test_staff_reissuing_after_a_refused_change_sends_the_code_to_the_customer_only(
    client, out_for_delivery, customer, django_capture_on_commit_callbacks
):
    client.force_login(_staff_with("view_order", "change_order"))
    order = out_for_delivery.order
    mail.outbox.clear()

    _change(
        client,
        reverse("admin:orders_order_change", args=[order.pk]),
        email="insider@example.com",
    )
    with django_capture_on_commit_callbacks(execute=True):
        code_issue(shipment=out_for_delivery, delivery_day=out_for_delivery.delivery_day)

    assert [message.to for message in mail.outbox] == [[Order.objects.get(pk=order.pk).email]]
    assert all("insider@example.com" not in message.to for message in mail.outbox)


# --- The one audited way: a superuser changes the recipient --------------------------------

REASON = "The customer called from the number on file and asked for the new address."


def test_a_superuser_changes_the_recipient_through_the_audited_service(
    client, ops, out_for_delivery, django_capture_on_commit_callbacks
):
    order = out_for_delivery.order
    old_email = order.email
    old_code = DeliveryCode.objects.get(shipment=out_for_delivery, status="active")
    new_customer = UserFactory(username="bruno", email="bruno@example.com")
    client.force_login(ops)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:orders_order_change_recipient", args=[order.pk]),
            {"username": "bruno", "email": "bruno@example.com", "language": "it", "reason": REASON},
        )

    order.refresh_from_db()
    old_code.refresh_from_db()
    assert response.status_code == 302
    assert (order.customer, order.email, order.language) == (
        new_customer,
        "bruno@example.com",
        "it",
    )
    assert old_code.status == DeliveryCode.Status.REVOKED
    new_code = DeliveryCode.objects.get(shipment=out_for_delivery, status="active")
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        ["bruno@example.com", old_email]
    )
    told = next(message for message in mail.outbox if message.to == [old_email])
    assert tokens.decrypt(new_code.code_encrypted) not in told.body
    alert = Alert.objects.get()
    assert (alert.kind, alert.person, alert.resolved_at) == (
        Alert.Kind.RECIPIENT_CHANGED,
        new_customer,
        None,
    )
    assert REASON in alert.details


def test_order_page_offers_the_change_of_recipient_only_to_superusers(
    client, ops, out_for_delivery
):
    order = out_for_delivery.order
    url = reverse("admin:orders_order_change_recipient", args=[order.pk])
    page = reverse("admin:orders_order_change", args=[order.pk])

    client.force_login(_staff_with("view_order", "change_order"))
    offered_to_staff = url in client.get(page).content.decode()
    client.force_login(ops)
    offered_to_superuser = url in client.get(page).content.decode()

    # A link to a page that answers 403 is offered to nobody
    assert (offered_to_staff, offered_to_superuser) == (False, True)


def test_staff_short_of_a_superuser_cannot_change_the_recipient(client, out_for_delivery):
    client.force_login(_staff_with("view_order", "change_order"))
    order = out_for_delivery.order
    url = reverse("admin:orders_order_change_recipient", args=[order.pk])

    response = client.post(
        url,
        {"username": "insider", "email": "insider@example.com", "language": "en", "reason": REASON},
    )

    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).email == order.email
    assert not Alert.objects.exists()


def test_the_service_refuses_anyone_but_a_superuser(out_for_delivery):
    staff = _staff_with("change_order")

    with pytest.raises(PermissionDenied):
        order_change_recipient(
            order=out_for_delivery.order,
            customer=staff,
            email=staff.email,
            language="en",
            actor=staff,
            reason=REASON,
        )

    assert Order.objects.get(pk=out_for_delivery.order.pk).customer != staff


def test_a_superuser_changing_a_persons_email_opens_an_alert(client, ops, customer):
    client.force_login(ops)

    _change(client, reverse("admin:auth_user_change", args=[customer.pk]), email="new@example.com")

    customer.refresh_from_db()
    assert customer.email == "new@example.com"
    alert = Alert.objects.get()
    assert (alert.kind, alert.person) == (Alert.Kind.RECIPIENT_CHANGED, customer)
