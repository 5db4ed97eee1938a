"""The Idempotency-Key rule of the retailer API, kept in the database so that it holds
across processes and restarts."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyKey(models.Model):
    """A key a retailer sent with `POST /api/v1/orders`, the hash of the body it came with
    and the order it created. The unique constraint makes two concurrent requests with one
    key wait for each other: the second finds the first's order."""

    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(_("key"), max_length=255)
    request_hash = models.CharField(max_length=64)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, related_name="idempotency_keys"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["retailer", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return f"{self.retailer}: {self.key}"
