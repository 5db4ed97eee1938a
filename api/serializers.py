"""What the retailer API reads and writes. Bodies are checked field by field; the errors
name the field."""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from couriers.models import PickupPoint
from orders.models import Order, Shipment
from webhooks.models import EventType, WebhookEndpoint
from webhooks.representation import PickupPointSerializer  # noqa: F401 - the API's too

MAX_ITEMS = 100
MAX_PARCELS = 20


class CustomerSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150)
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES], default=settings.LANGUAGE_CODE
    )


class ItemSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    unit_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, help_text="EUR, as a decimal string."
    )
    requires_secure_delivery = serializers.BooleanField(default=False)


class OrderCreateSerializer(serializers.Serializer):
    reference = serializers.CharField(max_length=100, help_text="Your own order id.")
    customer = CustomerSerializer()
    delivery_address = serializers.CharField(max_length=500, required=False, allow_null=True)
    pickup_point = serializers.IntegerField(
        required=False, allow_null=True, help_text="The id of an active pickup point."
    )
    items = ItemSerializer(many=True, min_length=1, max_length=MAX_ITEMS)
    parcels = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(min_value=0), min_length=1),
        min_length=1,
        max_length=MAX_PARCELS,
        required=False,
        help_text="Item indexes per parcel; every item in exactly one. Default: one parcel.",
    )

    def validate_pickup_point(self, value):
        if value is None:
            return None
        point = PickupPoint.objects.filter(pk=value, is_active=True).first()
        if point is None:
            raise serializers.ValidationError(_("No active pickup point has this id."))
        return point

    def validate(self, attrs):
        has_address = bool((attrs.get("delivery_address") or "").strip())
        has_point = attrs.get("pickup_point") is not None
        if has_address == has_point:
            message = _("Give either a delivery address or a pickup point, not both.")
            if not has_address:
                message = _("Give a delivery address or a pickup point.")
            raise serializers.ValidationError({"delivery_address": [message]})
        parcels = attrs.get("parcels")
        if parcels is not None:
            indexes = [index for parcel in parcels for index in parcel]
            if sorted(indexes) != list(range(len(attrs["items"]))):
                raise serializers.ValidationError(
                    {"parcels": [_("Every item index must appear in exactly one parcel.")]}
                )
        return attrs


class ShipmentSummarySerializer(serializers.ModelSerializer):
    pickup_point = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Shipment
        fields = ["tracking_number", "status", "delivery_day", "requires_code", "pickup_point"]
        read_only_fields = fields


class OrderItemOutSerializer(serializers.Serializer):
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    requires_secure_delivery = serializers.BooleanField()


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.SerializerMethodField()
    items = OrderItemOutSerializer(many=True, read_only=True)
    shipments = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "number",
            "reference",
            "created_at",
            "customer",
            "delivery_address",
            "items",
            "shipments",
        ]
        read_only_fields = fields

    @extend_schema_field(CustomerSerializer)
    def get_customer(self, order):
        return {
            "email": order.email,
            "name": order.customer.get_full_name(),
            "language": order.language,
        }

    @extend_schema_field(ShipmentSummarySerializer(many=True))
    def get_shipments(self, order):
        shipments = sorted(order.shipments.all(), key=lambda shipment: shipment.pk)
        return ShipmentSummarySerializer(shipments, many=True).data


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.values),
        required=False,
        max_length=len(EventType.values),
        help_text="Event types to send; empty or absent: all.",
    )


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret, shown only in this answer.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields
