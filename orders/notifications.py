"""Emails about parcels that carry no code: what happened to the parcel, never a code."""

from otpdelivery.emails import render_email
from otpdelivery.signin_links import tracking_signin_url

from .models import Shipment


def send_returned_email(shipment: Shipment) -> bool:
    """The parcel was not collected from its pickup point in time and goes back."""
    render_email(
        template="orders/email/returned",
        context={
            "shipment": shipment,
            "order": shipment.order,
            "pickup_point": shipment.pickup_point,
            "tracking_url": tracking_signin_url(shipment),
        },
        to=shipment.order.email,
        language=shipment.order.language,
    ).send()
    return True
