"""Celery entry points for webhooks: ids only, safe to run twice."""

from celery import shared_task
from django.utils import timezone

from . import services


@shared_task
def send_webhook(delivery_id: int) -> bool | None:
    """One attempt at one delivery, if it is still pending and due."""
    return services.webhook_delivery_send(delivery_id=delivery_id)


@shared_task
def send_due_webhooks() -> int:
    """Queue every pending delivery whose next attempt is due: the later retries, and any
    delivery whose task never reached a worker."""
    ids = services.due_webhook_delivery_ids(now=timezone.now())
    return services.webhook_deliveries_queue(delivery_ids=ids)
