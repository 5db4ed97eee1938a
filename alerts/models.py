"""Alerts: what needs a person in operations, open until someone resolves it with a note."""

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Alert(models.Model):
    """One thing operations must look at (rule 15). Its details never hold a code."""

    class Kind(models.TextChoices):
        CODE_LOCKED = "code_locked", _("Code locked after wrong codes")
        PARCEL_HELD = "parcel_held", _("Parcel held for operations")
        PERSON_BLOCKED = "person_blocked", _("Person blocked from entering codes")
        CUSTOMER_REPORT = "customer_report", _("Customer report: this was not me")
        SIGNIN_BACKSTOP = "signin_backstop", _("Sign-in links stopped")
        RECIPIENT_CHANGED = "recipient_changed", _("Recipient changed")

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("shipment"),
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("person"),
    )
    details = models.TextField(_("details"), blank=True)
    opened_at = models.DateTimeField(_("opened at"), db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            # One open alert per kind and subject, so opening it twice is harmless.
            # (Coalesce rather than NULLS NOT DISTINCT, which SQLite lacks.)
            models.UniqueConstraint(
                "kind",
                Coalesce("shipment", Value(0)),
                Coalesce("person", Value(0)),
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_kind_subject",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True)
                | (Q(resolved_by__isnull=False) & ~Q(resolution_note="")),
                name="alert_resolved_with_person_and_note",
            ),
        ]
        indexes = [
            models.Index(
                fields=["shipment"],
                condition=Q(resolved_at__isnull=True),
                name="alert_open_by_shipment",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.shipment or self.person or ''}".strip()

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
