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
    """One parcel on one courier's round for one day. Once finished, a stop keeps what
    happened at it (rule 14): later changes to the parcel never rewrite it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("To do")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")
        MISSED = "missed", _("Not reached on its day")
        DROPPED = "dropped", _("Dropped at the pickup point")
        REDIRECTED = "redirected", _("Redirected to a pickup point")
        MOVED = "moved", _("Moved to another route")

    route = models.ForeignKey(
        Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route")
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.PROTECT,
        related_name="stops",
        verbose_name=_("shipment"),
    )
    # The route's day, kept on the stop so that the database can refuse a parcel on two
    # routes of one day.
    day = models.DateField(_("day"), editable=False)
    position = models.PositiveIntegerField(_("position"))
    outcome = models.CharField(
        _("outcome"),
        max_length=20,
        choices=Outcome.choices,
        default=Outcome.PENDING,
        editable=False,
    )
    # What the courier recorded (the reason of a failed attempt), kept as it was then.
    note = models.CharField(_("note"), max_length=200, blank=True, editable=False)
    # Where the parcel was bound when the stop finished: a pickup point, or none (the door).
    pickup_point = models.ForeignKey(
        PickupPoint,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("pickup point"),
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["route", "position"]
        verbose_name = _("stop")
        verbose_name_plural = _("stops")
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="stop_unique_position"),
            # Once on a route, unless moved off it (the moved stop stays as the record and
            # the parcel may come back to the route's end).
            models.UniqueConstraint(
                fields=["route", "shipment"],
                condition=~models.Q(outcome="moved"),
                name="stop_unique_shipment",
            ),
            # Rule 14: a parcel is on one courier's route a day (a stop moved away stays as
            # the record of the move).
            models.UniqueConstraint(
                fields=["shipment", "day"],
                condition=~models.Q(outcome="moved"),
                name="stop_one_route_per_shipment_day",
            ),
        ]

    def __str__(self):
        return f"{self.route} #{self.position}"

    @property
    def is_finished(self) -> bool:
        return self.outcome != self.Outcome.PENDING


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
