"""Retailers (the sellers whose orders we deliver) and the API keys their systems use.

The lowest app of all: orders point at a retailer, a retailer knows nothing of orders.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Retailer(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("retailer")
        verbose_name_plural = _("retailers")

    def __str__(self):
        return self.name


class ApiKey(models.Model):
    """One key of a retailer. Only a SHA-256 hash of the key is stored: the key is long and
    random, so a fast hash is enough, and the hash is looked up directly by its index."""

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("What uses this key."))
    # The first characters of the key, so a person can tell keys apart; never enough to use.
    prefix = models.CharField(_("starts with"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.retailer}: {self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
