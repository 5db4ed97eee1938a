"""Celery entry points for codes. They take ids only: a code never sits in Redis or logs."""

import smtplib

from celery import shared_task

from orders.models import Shipment

from . import notifications
from .models import DeliveryCode


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def send_delivery_code_email(code_id: int) -> bool:
    """Email a freshly issued code; a code no longer active by now is not sent."""
    code = (
        DeliveryCode.objects.select_related("shipment__order")
        .filter(pk=code_id, status=DeliveryCode.Status.ACTIVE)
        .first()
    )
    if code is None:
        return False
    return notifications.send_code_email(code)


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=10,
)
def send_pickup_ready_email(code_id: int) -> bool:
    """Tell the customer their parcel is ready at the pickup point, with the code to
    collect it; nothing is sent once the code is no longer active there."""
    code = (
        DeliveryCode.objects.select_related("shipment__order", "pickup_point")
        .filter(
            pk=code_id,
            status=DeliveryCode.Status.ACTIVE,
            pickup_point__isnull=False,
            shipment__status=Shipment.Status.AT_PICKUP_POINT,
        )
        .first()
    )
    if code is None:
        return False
    return notifications.send_pickup_ready_email(code)
