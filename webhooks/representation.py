"""The parcel as the retailer sees it: the body of `GET /api/v1/shipments/{tracking}` and
the `data` of every webhook event. Facts only; never a code, never who the customer is.

Here, below the API and the hand-over layer, so that a service can write an event's
snapshot in its own transaction.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from codes.models import CodeEntry
from couriers.models import PickupPoint
from orders.models import Shipment, TrackingEvent

# How each hand-over outcome is named in the proof of delivery.
HANDOVER_METHODS = {
    CodeEntry.Outcome.CORRECT: "code",
    CodeEntry.Outcome.NO_CODE_NEEDED: "no_code",
    CodeEntry.Outcome.OVERRIDE: "override",
}


class PickupPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = PickupPoint
        fields = ["id", "name", "address", "opening_hours"]


class TrackingEventSerializer(serializers.ModelSerializer):
    at = serializers.DateTimeField(source="created_at")

    class Meta:
        model = TrackingEvent
        fields = ["status", "at", "note"]


class ProofOfDeliverySerializer(serializers.Serializer):
    delivered_at = serializers.DateTimeField()
    method = serializers.ChoiceField(choices=sorted(set(HANDOVER_METHODS.values())))
    handed_over_by = serializers.CharField(help_text="Name of the courier or operator.")
    pickup_point = PickupPointSerializer(allow_null=True)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)


class ShipmentSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number", read_only=True)
    pickup_point = PickupPointSerializer(allow_null=True, read_only=True)
    events = TrackingEventSerializer(many=True, read_only=True)
    proof_of_delivery = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "tracking_number",
            "order",
            "status",
            "delivery_day",
            "requires_code",
            "pickup_point",
            "shipped_at",
            "events",
            "proof_of_delivery",
        ]
        read_only_fields = fields

    @extend_schema_field(ProofOfDeliverySerializer(allow_null=True))
    def get_proof_of_delivery(self, shipment: Shipment):
        if shipment.status != Shipment.Status.DELIVERED:
            return None
        entry = (
            CodeEntry.objects.filter(shipment=shipment, outcome__in=list(HANDOVER_METHODS))
            .select_related("pickup_point")
            .order_by("-created_at", "-pk")
            .first()
        )
        person = shipment.delivered_by
        proof = {
            "delivered_at": shipment.delivered_at,
            "method": HANDOVER_METHODS[entry.outcome] if entry else "code",
            "handed_over_by": (person.get_full_name() or person.get_username()) if person else "",
            "pickup_point": entry.pickup_point if entry else None,
            "latitude": entry.latitude if entry else None,
            "longitude": entry.longitude if entry else None,
        }
        return ProofOfDeliverySerializer(proof).data


def shipments_for_representation(queryset):
    """What ShipmentSerializer reads, fetched with the parcels."""
    return queryset.select_related("order", "pickup_point", "delivered_by").prefetch_related(
        Prefetch("events", queryset=TrackingEvent.objects.order_by("created_at", "pk"))
    )


def shipment_data(shipment: Shipment) -> dict:
    """The parcel's representation, read fresh from the database."""
    shipment = shipments_for_representation(Shipment.objects.filter(pk=shipment.pk)).get()
    return ShipmentSerializer(shipment).data
