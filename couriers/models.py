"""Couriers, their daily routes and stops, pickup points, and failed delivery attempts."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otpdelivery import opening_hours


class Courier(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="courier",
        verbose_name=_("user"),
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("courier")
        verbose_name_plural = _("couriers")

    def __str__(self):
        return self.user.get_full_name() or self.user.get_username()


class PickupPoint(models.Model):
    """A locker or partner shop that holds parcels until the customer collects them."""

    name = models.CharField(_("name"), max_length=120)
    address = models.TextField(_("address"))
    opening_hours = models.CharField(
        _("opening hours"),
        max_length=200,
        blank=True,
        validators=[opening_hours.validate],
        help_text=_("Like Mon–Sat 07:00–19:30, Sun 08:00–13:00 (24-hour times)."),
    )
    operators = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="pickup_points",
        blank=True,
        verbose_name=_("operators"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("pickup point")
        verbose_name_plural = _("pickup points")

    def __str__(self):
        return self.name


class Route(models.Model):
    """A courier's round for one delivery day."""

    courier = models.ForeignKey(
        Courier, on_delete=models.PROTECT, related_name="routes", verbose_name=_("courier")
    )
    day = models.DateField(_("day"))

    class Meta:
        ordering = ["-day"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [
            models.UniqueConstraint(fields=["courier", "day"], name="route_one_per_courier_day"),
        ]

    def __str__(self):
        return f"{self.courier} {self.day:%Y-%m-%d}"


class Stop(models.Model):
    route = models.ForeignKey(
        Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route")
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="stops",
        verbose_name=_("shipment"),
    )
    position = models.PositiveIntegerField(_("position"))

    class Meta:
        ordering = ["route", "position"]
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="stop_unique_position"),
            models.UniqueConstraint(fields=["route", "shipment"], name="stop_unique_shipment"),
        ]

    def __str__(self):
        return f"{self.route} #{self.position}"


class DeliveryAttempt(models.Model):
    """A failed attempt to hand a parcel over, recorded by the courier at the door."""

    class Reason(models.TextChoices):
        NOT_AT_HOME = "not_at_home", _("Customer not at home")
        REFUSED = "refused", _("Customer refused the parcel")
        ADDRESS_PROBLEM = "address_problem", _("Address problem")
        NO_CODE = "no_code", _("Customer cannot give the code")

    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="failed_attempts",
        verbose_name=_("shipment"),
    )
    courier = models.ForeignKey(
        Courier, on_delete=models.PROTECT, related_name="failed_attempts", verbose_name=_("courier")
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("failed delivery attempt")
        verbose_name_plural = _("failed delivery attempts")

    def __str__(self):
        return f"{self.shipment} {self.get_reason_display()}"
