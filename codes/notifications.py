"""Emails about delivery codes. The only place besides the tracking page that sees a code."""

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from orders.days import last_valid_minute

from . import tokens
from .models import DeliveryCode


def send_code_email(code: DeliveryCode) -> bool:
    """Email the code to the order's address. False when the code cannot be decrypted."""
    digits = tokens.decrypt(code.code_encrypted)
    if digits is None:
        return False
    shipment = code.shipment
    context = {
        "shipment": shipment,
        "order": shipment.order,
        "code_grouped": tokens.group_for_reading(digits),
        "code": digits,
        "delivery_day": code.delivery_day,
        "valid_until": last_valid_minute(code.valid_until),
    }
    with translation.override(shipment.order.language or "en"):
        subject = render_to_string("codes/email/code_subject.txt", context).strip()
        text = render_to_string("codes/email/code.txt", context)
        html = render_to_string("codes/email/code.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[shipment.order.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def send_pickup_ready_email(code: DeliveryCode) -> bool:
    """The parcel is waiting at the pickup point: where, until when, and the code."""
    digits = tokens.decrypt(code.code_encrypted)
    if digits is None:
        return False
    shipment = code.shipment
    context = {
        "shipment": shipment,
        "order": shipment.order,
        "pickup_point": code.pickup_point,
        "code_grouped": tokens.group_for_reading(digits),
        "code": digits,
        "collect_by": code.delivery_day,
        "valid_until": last_valid_minute(code.valid_until),
    }
    with translation.override(shipment.order.language or "en"):
        subject = render_to_string("codes/email/pickup_ready_subject.txt", context).strip()
        text = render_to_string("codes/email/pickup_ready.txt", context)
        html = render_to_string("codes/email/pickup_ready.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[shipment.order.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True
