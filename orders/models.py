"""Orders, their items, the parcels (shipments) they travel in, and tracking events."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

# No 0/O or 1/I, so a tracking number read over the phone is not misheard.
TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_tracking_number() -> str:
    return "OD" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(10))


def new_order_number() -> str:
    """Ten random digits: a clash is rare, and Order.save draws again when one happens."""
    return "A" + "".join(secrets.choice("0123456789") for _ in range(10))


class Order(models.Model):
    number = models.CharField(
        _("order number"), max_length=20, unique=True, default=new_order_number
    )
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("customer"),
    )
    email = models.EmailField(_("email for delivery codes"))
    delivery_address = models.TextField(_("delivery address"))
    language = models.CharField(
        _("language for emails"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    created_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    retailer = models.ForeignKey(
        "retailers.Retailer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("retailer"),
    )
    reference = models.CharField(
        _("retailer's reference"),
        max_length=100,
        blank=True,
        help_text=_("The retailer's own order id, unique per retailer."),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["retailer", "reference"],
                condition=~models.Q(reference=""),
                name="order_reference_unique_per_retailer",
            ),
        ]

    def __str__(self):
        return self.number

    def save(self, *args, **kwargs):
        # A drawn number already taken (1 in 10,000 per order once there are a million) is drawn
        # again instead of ending in a unique-constraint error for the retailer or the demo.
        if self._state.adding:
            for _attempt in range(5):
                if not Order.objects.filter(number=self.number).exists():
                    break
                self.number = new_order_number()
        super().save(*args, **kwargs)

    def value(self) -> Decimal:
        total = self.items.aggregate(total=Sum(F("unit_price") * F("quantity")))["total"]
        return total or Decimal("0.00")


class OrderItem(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="items", verbose_name=_("order")
    )
    shipment = models.ForeignKey(
        "orders.Shipment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="items",
        help_text=_("The parcel this item travels in."),
        verbose_name=_("shipment"),
    )
    name = models.CharField(_("name"), max_length=200)
    unit_price = models.DecimalField(_("unit price (EUR)"), max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    requires_secure_delivery = models.BooleanField(
        _("requires secure delivery"),
        default=False,
        help_text=_("Any parcel holding this item is handed over only against a code."),
    )

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="orderitem_price_not_negative"
            ),
        ]

    def __str__(self):
        return self.name


class Shipment(models.Model):
    """One parcel. It needs its own code when `requires_code`, frozen when it ships."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        SHIPPED = "shipped", _("Shipped")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        AT_PICKUP_POINT = "at_pickup_point", _("At the pickup point")
        DELIVERED = "delivered", _("Delivered")
        DELIVERY_FAILED = "delivery_failed", _("Delivery failed")
        RETURNED = "returned", _("Returned to sender")

    # Every status a shipment may move to from each status; anything else is illegal.
    TRANSITIONS = {
        Status.PROCESSING: {Status.SHIPPED},
        Status.SHIPPED: {Status.OUT_FOR_DELIVERY, Status.AT_PICKUP_POINT, Status.RETURNED},
        Status.OUT_FOR_DELIVERY: {
            Status.DELIVERED,
            # Not handed over at the customer's door (a failed attempt, a missed delivery).
            Status.DELIVERY_FAILED,
            Status.AT_PICKUP_POINT,
            # Not dropped at its pickup point on its day: back at the depot, on its way there
            # again (rule 15). Nobody tried the customer's door: not a failed delivery.
            Status.SHIPPED,
        },
        # Only a parcel for the customer's door fails: one for a pickup point is on its way
        # there (shipped, out for delivery) until it arrives.
        Status.DELIVERY_FAILED: {
            Status.OUT_FOR_DELIVERY,
            # Redirected to a pickup point after a failed attempt: on its way there (rule 15).
            Status.SHIPPED,
            Status.RETURNED,
        },
        Status.AT_PICKUP_POINT: {Status.DELIVERED, Status.RETURNED},
        Status.DELIVERED: set(),
        Status.RETURNED: set(),
    }

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="shipments", verbose_name=_("order")
    )
    tracking_number = models.CharField(
        _("tracking number"), max_length=20, unique=True, default=new_tracking_number
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROCESSING
    )
    delivery_day = models.DateField(_("delivery day"), null=True, blank=True)
    requires_code = models.BooleanField(
        _("requires a delivery code"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Decided when the parcel ships and never changed afterwards."),
    )
    pickup_point = models.ForeignKey(
        "couriers.PickupPoint",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="shipments",
        verbose_name=_("pickup point"),
    )
    wrong_code_entries = models.PositiveIntegerField(
        _("wrong code entries"),
        default=0,
        editable=False,
        help_text=_("Across all of this parcel's codes; never reset by a new code."),
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True, editable=False)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("handed over by"),
    )
    # The delivered receipt (rule 17) is claimed here before it is sent, and released if
    # sending fails: in the parcel's row, so no second worker and no cache flush sends it
    # twice.
    receipt_sent_at = models.DateTimeField(
        _("receipt sent at"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        indexes = [models.Index(fields=["status", "delivery_day"])]

    def __str__(self):
        return self.tracking_number

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def is_delivered(self) -> bool:
        return self.status == self.Status.DELIVERED


class TrackingEvent(models.Model):
    """One line of a parcel's timeline, appended by the service that changed it."""

    shipment = models.ForeignKey(
        Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment")
    )
    status = models.CharField(_("status"), max_length=20, choices=Shipment.Status.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    created_at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")

    def __str__(self):
        return f"{self.shipment} {self.status}"
