"""Delivery codes and the append-only record of every attempt to enter one."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _


class DeliveryCode(models.Model):
    """One code for one parcel and one delivery day. The plain code is never stored."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        USED = "used", _("Used")
        LOCKED = "locked", _("Locked after wrong entries")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    # Every status a code may move to from each status; anything else is illegal. Every
    # change of status goes through codes.services.code_move / codes_move, which check it.
    TRANSITIONS = {
        Status.ACTIVE: {Status.USED, Status.LOCKED, Status.EXPIRED, Status.REVOKED},
        # A locked code is only ever revoked (an override, or operations closing the case).
        Status.LOCKED: {Status.REVOKED},
        Status.USED: set(),
        Status.EXPIRED: set(),
        Status.REVOKED: set(),
    }

    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="codes",
        verbose_name=_("shipment"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # Never filtered, sorted, searched or shown in the admin (otpdelivery.secret_fields).
    secret_fields = ("code_hash", "code_encrypted")

    # A keyed hash to check entries against, and a ciphertext to show the customer.
    code_hash = models.CharField(max_length=64, editable=False)
    code_encrypted = models.TextField(editable=False)
    delivery_day = models.DateField(_("delivery day"))
    valid_until = models.DateTimeField(
        _("valid until"), help_text=_("First instant at which the code is no longer valid.")
    )
    # Where the code is to be entered at a pickup point; its active codes must all differ.
    pickup_point = models.ForeignKey(
        "couriers.PickupPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="codes",
        verbose_name=_("pickup point"),
    )
    wrong_attempts = models.PositiveIntegerField(_("wrong attempts"), default=0)
    issued_at = models.DateTimeField(_("issued at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("delivery code")
        verbose_name_plural = _("delivery codes")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(status="active"),
                name="code_one_active_per_shipment",
            ),
            models.UniqueConstraint(
                fields=["pickup_point", "code_hash"],
                condition=Q(status="active", pickup_point__isnull=False),
                name="code_unique_active_at_pickup_point",
            ),
        ]
        indexes = [
            models.Index(
                fields=["valid_until"],
                condition=Q(status="active"),
                name="code_active_valid_until",
            ),
        ]

    def __str__(self):
        # Never the code: this string shows in the admin and in logs.
        return f"{self.shipment} ({self.get_status_display()})"


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk changes would bypass the model's guard; audit rows refuse them too."""

    def update(self, **kwargs):
        raise PermissionError("Code entries are append-only.")

    def delete(self):
        raise PermissionError("Code entries are append-only.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise PermissionError("Code entries are append-only.")

    def purge_demo_data(self):
        """Delete for real: only seed_demo, resetting its own demo parcels, may do this."""
        return super().delete()


class CodeEntry(models.Model):
    """One attempt to enter a code, whatever its outcome. Never changed, never deleted."""

    class Outcome(models.TextChoices):
        CORRECT = "correct", _("Correct")
        WRONG = "wrong", _("Wrong")
        MALFORMED = "malformed", _("Malformed")
        EXPIRED = "expired", _("Expired")
        LOCKED = "locked", _("Locked")
        BLOCKED = "blocked", _("Blocked")
        HELD = "held", _("Parcel held for operations")
        EARLIER_CODE = "earlier_code", _("An earlier code of this parcel")
        ALREADY_DELIVERED = "already_delivered", _("Already delivered")
        NO_CODE_NEEDED = "no_code_needed", _("Handed over, no code needed")
        OVERRIDE = "override", _("Override by operations")
        # Typed at a stop operations had given to another courier (a page left open):
        # recorded (rule 10), never checked, never counted as a wrong code.
        MOVED_AWAY = "moved_away", _("Parcel moved off their route")

    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="code_entries",
        verbose_name=_("shipment"),
    )
    code = models.ForeignKey(
        DeliveryCode,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("code"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="code_entries",
        verbose_name=_("user"),
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    pickup_point = models.ForeignKey(
        "couriers.PickupPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pickup point"),
    )
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("at"), db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("code entry")
        verbose_name_plural = _("code entries")
        indexes = [models.Index(fields=["user", "outcome", "created_at"])]

    def __str__(self):
        return _("%(outcome)s by %(user)s, %(when)s") % {
            "outcome": self.get_outcome_display(),
            "user": self.user,
            "when": date_format(timezone.localtime(self.created_at), "j F Y, H:i"),
        }

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Code entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Code entries are append-only.")


class EntryBlock(models.Model):
    """A person barred from entering codes after too many wrong ones across parcels (rule 6).

    Only operations lift it, in the admin; the row stays as the record of who did and when.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="entry_blocks",
        verbose_name=_("user"),
    )
    wrong_entries = models.PositiveIntegerField(
        _("wrong entries"), help_text=_("Wrong codes within the window that caused the block.")
    )
    blocked_at = models.DateTimeField(_("blocked at"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lifted by"),
    )

    class Meta:
        ordering = ["-blocked_at", "-pk"]
        verbose_name = _("code entry block")
        verbose_name_plural = _("code entry blocks")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(lifted_at__isnull=True),
                name="entryblock_one_active_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.user} {self.blocked_at:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class CodeEmail(models.Model):
    """An email to the customer about a code: written in the transaction that calls for it,
    sent afterwards by a worker. `sent_at` makes the send safe to run twice, and rows never
    sent (broker down when they were queued) are queued again by a periodic task."""

    class Purpose(models.TextChoices):
        ISSUED = "issued", _("Code issued")
        RESENT = "resent", _("Code sent again at the customer's request")
        WRONG_CODE = "wrong_code", _("Wrong code entered")
        LOCKED = "locked", _("Code locked after wrong entries")
        HELD = "held", _("Parcel held for operations")
        AT_PICKUP_POINT = "at_pickup_point", _("Parcel ready at the pickup point")

    # Purposes sent at most once per code, whatever retries or concurrent entries do.
    ONCE_PER_CODE = [Purpose.ISSUED, Purpose.WRONG_CODE, Purpose.LOCKED]

    code = models.ForeignKey(
        DeliveryCode, on_delete=models.PROTECT, related_name="emails", verbose_name=_("code")
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    requested_at = models.DateTimeField(_("requested at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    failed_at = models.DateTimeField(
        _("given up at"),
        null=True,
        blank=True,
        help_text=_("Set when every retry failed; such an email is not queued again."),
    )
    superseded_at = models.DateTimeField(
        _("not sent, out of date at"),
        null=True,
        blank=True,
        help_text=_(
            "Set when, at sending time, the parcel had moved on and the email would have "
            "told the customer something no longer true (a newer email says what is)."
        ),
    )

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("code email")
        verbose_name_plural = _("code emails")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "purpose"],
                condition=Q(purpose__in=["issued", "wrong_code", "locked"]),
                name="code_email_once_per_code",
            ),
        ]
        indexes = [
            models.Index(
                fields=["requested_at"], condition=Q(sent_at__isnull=True), name="code_email_unsent"
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.get_purpose_display()}"


class ParcelHold(models.Model):
    """Rule 6: after too many wrong codes in all, the parcel is held for operations; no
    code is accepted until someone in operations releases it. Rows are kept as the audit."""

    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="holds",
        verbose_name=_("shipment"),
    )
    held_at = models.DateTimeField(_("held at"))
    wrong_code_entries = models.PositiveIntegerField(_("wrong code entries when held"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )

    class Meta:
        ordering = ["-held_at", "-pk"]
        verbose_name = _("parcel hold")
        verbose_name_plural = _("parcel holds")
        constraints = [
            models.UniqueConstraint(
                fields=["shipment"],
                condition=Q(released_at__isnull=True),
                name="parcel_hold_one_open_per_shipment",
            ),
        ]

    def __str__(self):
        return f"{self.shipment} held at {self.held_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.released_at is None
