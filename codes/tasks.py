"""Celery entry points for codes. They take ids only: a code never sits in Redis or logs."""

import smtplib

from celery import shared_task

from .models import DeliveryCode
from .notifications import send_code_email


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
    return send_code_email(code)
