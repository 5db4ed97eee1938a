"""Sign-in links in customer emails (rule 17), made with django-sesame.

A link is bound to one customer and to where it leads (one parcel's Track my package page,
or Your orders), valid for SESAME_MAX_AGE (7 days), and used up when the customer signs in
(SESAME_ONE_TIME). Its page only asks for a click: the sign-in happens on that POST, so a
mail scanner that fetches the link neither signs anyone in nor uses the link up.

Here, in the project package, so that the low apps' emails (codes, orders) can make links
without depending on the app that serves them.
"""

from django.conf import settings
from django.urls import reverse
from sesame.utils import get_query_string

ORDERS_SCOPE = "orders"


def tracking_scope(tracking_number: str) -> str:
    return f"track:{tracking_number}"


def tracking_signin_url(shipment) -> str:
    """An absolute sign-in link to the parcel's tracking page for the order's customer."""
    path = reverse("signin_link_track", args=[shipment.tracking_number])
    query = get_query_string(
        shipment.order.customer, scope=tracking_scope(shipment.tracking_number)
    )
    return settings.SITE_URL.rstrip("/") + path + query


def report_scope(tracking_number: str) -> str:
    return f"report:{tracking_number}"


def report_signin_url(shipment) -> str:
    """An absolute link, for the delivered receipt, to report "this was not me"."""
    path = reverse("signin_link_report", args=[shipment.tracking_number])
    query = get_query_string(shipment.order.customer, scope=report_scope(shipment.tracking_number))
    return settings.SITE_URL.rstrip("/") + path + query


def orders_signin_url(user) -> str:
    """An absolute sign-in link to Your orders."""
    path = reverse("signin_link_orders")
    return settings.SITE_URL.rstrip("/") + path + get_query_string(user, scope=ORDERS_SCOPE)
