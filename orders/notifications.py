"""Emails about parcels that carry no code: what happened to the parcel, never a code."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from .models import Shipment


def send_returned_email(shipment: Shipment) -> bool:
    """The parcel was not collected from its pickup point in time and goes back."""
    context = {
        "shipment": shipment,
        "order": shipment.order,
        "pickup_point": shipment.pickup_point,
    }
    with translation.override(shipment.order.language or "en"):
        subject = render_to_string("orders/email/returned_subject.txt", context).strip()
        text = render_to_string("orders/email/returned.txt", context)
        html = render_to_string("orders/email/returned.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[shipment.order.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True
