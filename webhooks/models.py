"""Retailers' webhook endpoints and the outbox of events to send them (Standard Webhooks).

An event is written as one `WebhookDelivery` per subscribed endpoint, in the transaction of
the change it reports; a worker sends it after the commit and records every attempt.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    SHIPPED = "shipment.shipped", "shipment.shipped"
    OUT_FOR_DELIVERY = "shipment.out_for_delivery", "shipment.out_for_delivery"
    DELIVERED = "shipment.delivered", "shipment.delivered"
    DELIVERY_FAILED = "shipment.delivery_failed", "shipment.delivery_failed"
    AT_PICKUP_POINT = "shipment.at_pickup_point", "shipment.at_pickup_point"
    RETURNED = "shipment.returned", "shipment.returned"
    HELD = "shipment.held", "shipment.held"
    CODE_LOCKED = "code.locked", "code.locked"


class WebhookEndpoint(models.Model):
    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    # Event types sent to this endpoint; empty: all of them.
    events = models.JSONField(_("events"), default=list, blank=True)
    # The signing secret, encrypted like the codes: a database dump alone does not reveal it.
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    # Removed endpoints are kept (with their deliveries) but never sent to again.
    deleted_at = models.DateTimeField(_("removed at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return f"{self.retailer}: {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint. Its `message_id` is the `webhook-id` header of every
    attempt, so the receiver can tell a retry from a new event."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Delivered")
        FAILED = "failed", _("Given up")

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_deliveries",
    )
    message_id = models.CharField(_("webhook-id"), max_length=40, unique=True, editable=False)
    event_type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    # The exact JSON body sent (and signed) on every attempt; written once, just after the
    # transaction that recorded the event commits.
    body = models.TextField(_("body"), blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Set while a worker sends it (no row lock is held during the call): no other worker
    # takes it until then; past it, the worker is taken to have died and it is due again.
    in_flight_until = models.DateTimeField(
        _("being sent until"), null=True, blank=True, editable=False
    )
    last_status_code = models.PositiveIntegerField(_("last status code"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self):
        return f"{self.event_type} {self.message_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    started_at = models.DateTimeField(_("at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self):
        return f"{self.delivery} {self.status_code or self.error}"
