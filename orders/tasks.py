"""Celery entry points for parcels. They take ids only and are safe to run twice."""

import smtplib

from celery import shared_task

from .models import Shipment
from .notifications import send_delivered_receipt_email, send_returned_email


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def send_parcel_returned_email(shipment_id: int) -> bool:
    """Tell the customer their uncollected parcel went back; only if it really did."""
    shipment = (
        Shipment.objects.select_related("order", "pickup_point")
        .filter(pk=shipment_id, status=Shipment.Status.RETURNED)
        .first()
    )
    if shipment is None:
        return False
    return send_returned_email(shipment)


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def send_delivered_receipt(shipment_id: int) -> bool:
    """The delivered receipt (rule 17), once per parcel."""
    shipment = (
        Shipment.objects.select_related("order__customer", "delivered_by", "pickup_point")
        .filter(pk=shipment_id, status=Shipment.Status.DELIVERED)
        .first()
    )
    if shipment is None:
        return False
    return send_delivered_receipt_email(shipment)
