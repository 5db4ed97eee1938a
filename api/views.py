"""The retailer API (PRODUCT.md, "The retailer API (contract)"). Thin views: each reads
the retailer's own objects first (another retailer's are a 404), validates, calls one
service, answers. No answer ever holds a code."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from couriers.models import PickupPoint
from handoff.services import shipment_mark_shipped
from orders.models import Order, Shipment
from webhooks.models import WebhookEndpoint
from webhooks.network import UnsafeWebhookUrl
from webhooks.representation import (
    PickupPointSerializer,
    ShipmentSerializer,
    shipments_for_representation,
)
from webhooks.services import webhook_endpoint_create, webhook_endpoint_delete

from .exceptions import IdempotencyKeyReused, ReferenceTaken
from .serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
)
from .services import order_create_idempotent, request_hash

ERROR = OpenApiResponse(description="A JSON object with `detail` or the field errors.")


def _orders_of(retailer):
    return (
        Order.objects.filter(retailer=retailer)
        .select_related("customer")
        .prefetch_related("items", Prefetch("shipments", queryset=Shipment.objects.order_by("pk")))
    )


def _shipments_of(retailer):
    return shipments_for_representation(Shipment.objects.filter(order__retailer=retailer))


class OrderListCreate(generics.ListAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        return _orders_of(self.request.user)

    @extend_schema(
        request=OrderCreateSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                location=OpenApiParameter.HEADER,
                required=False,
                description="The same key and body again answer the same order.",
            )
        ],
        responses={201: OrderSerializer, 200: OrderSerializer, 400: ERROR, 422: ERROR},
    )
    def post(self, request):
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 255:
            return Response(
                {"Idempotency-Key": [_("At most 255 characters.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            order, created = order_create_idempotent(
                retailer=request.user,
                data=serializer.validated_data,
                idempotency_key=key or None,
                body_hash=request_hash(request.data),
            )
        except ReferenceTaken:
            return Response(
                {"reference": [_("You already have an order with this reference.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except IdempotencyKeyReused:
            return Response(
                {"detail": _("This Idempotency-Key was already used with another body.")},
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        order = _orders_of(request.user).get(pk=order.pk)
        return Response(
            OrderSerializer(order).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class OrderDetail(generics.RetrieveAPIView):
    serializer_class = OrderSerializer
    lookup_field = "number"

    def get_queryset(self):
        return _orders_of(self.request.user)


class ShipmentDetail(generics.RetrieveAPIView):
    serializer_class = ShipmentSerializer
    lookup_field = "tracking_number"

    def get_queryset(self):
        return _shipments_of(self.request.user)


class ShipmentShip(APIView):
    @extend_schema(request=None, responses={200: ShipmentSerializer, 404: ERROR, 409: ERROR})
    def post(self, request, tracking_number):
        shipment = get_object_or_404(
            Shipment.objects.filter(order__retailer=request.user), tracking_number=tracking_number
        )
        if shipment.status != Shipment.Status.SHIPPED:
            # Already shipped answers as done (a retry on a bad network); anything else
            # that cannot ship is a 409 from the transition table.
            shipment_mark_shipped(shipment=shipment, actor=None)
        shipment = _shipments_of(request.user).get(pk=shipment.pk)
        return Response(ShipmentSerializer(shipment).data)


class PickupPointList(generics.ListAPIView):
    serializer_class = PickupPointSerializer
    queryset = PickupPoint.objects.filter(is_active=True).order_by("name", "pk")


class WebhookEndpointListCreate(generics.ListAPIView):
    serializer_class = WebhookEndpointSerializer

    def get_queryset(self):
        return WebhookEndpoint.objects.filter(retailer=self.request.user, deleted_at__isnull=True)

    @extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointCreatedSerializer, 400: ERROR},
    )
    def post(self, request):
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint, secret = webhook_endpoint_create(
                retailer=request.user,
                url=serializer.validated_data["url"],
                events=serializer.validated_data.get("events"),
            )
        except UnsafeWebhookUrl as refusal:
            return Response({"url": [str(refusal)]}, status=status.HTTP_400_BAD_REQUEST)
        endpoint.secret = secret
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )


class WebhookEndpointDelete(APIView):
    @extend_schema(request=None, responses={204: None, 404: ERROR})
    def delete(self, request, pk):
        endpoint = get_object_or_404(
            WebhookEndpoint.objects.filter(retailer=request.user, deleted_at__isnull=True), pk=pk
        )
        webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _resolve(schema: dict, node: dict | None) -> dict:
    """Follow a `$ref` into the schema's components."""
    while node and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node or {}


def _fields(schema: dict, node: dict, prefix: str = "") -> list[dict]:
    """The fields of a JSON body, nested ones named with dots, lists with []."""
    node = _resolve(schema, node)
    if "allOf" in node:
        node = _resolve(schema, node["allOf"][0])
    rows = []
    required = set(node.get("required", []))
    for name, field in node.get("properties", {}).items():
        field = field if "$ref" not in field else {**_resolve(schema, field), "$ref": field["$ref"]}
        if "allOf" in field:
            field = {**_resolve(schema, field["allOf"][0]), **field}
        kind = field.get("type", "object")
        if kind == "array":
            item = _resolve(schema, field.get("items"))
            kind = f"list of {item.get('type', 'object')}"
        rows.append(
            {
                "name": prefix + name,
                "type": kind + (f" ({field['format']})" if field.get("format") else ""),
                "required": name in required,
                "read_only": field.get("readOnly", False),
                "nullable": field.get("nullable", False),
                "choices": field.get("enum", []),
                "description": field.get("description", ""),
            }
        )
        if kind == "object" and field.get("properties") or "$ref" in field:
            rows.extend(_fields(schema, field, prefix=f"{prefix}{name}."))
        elif kind.startswith("list of object"):
            rows.extend(_fields(schema, field["items"], prefix=f"{prefix}{name}[]."))
    return rows


def _operations(schema: dict) -> list[dict]:
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            responses = []
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json", {})
                responses.append(
                    {
                        "code": code,
                        "description": response.get("description", ""),
                        "fields": _fields(schema, content.get("schema")) if content else [],
                    }
                )
            operations.append(
                {
                    "id": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "description": operation.get("description", ""),
                    "parameters": operation.get("parameters", []),
                    "request_fields": _fields(schema, body["schema"]) if body else [],
                    "responses": responses,
                }
            )
    return operations


@extend_schema(exclude=True)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@renderer_classes([TemplateHTMLRenderer])
def api_docs(request):
    """The API's documentation, rendered on the server from the same OpenAPI schema: no
    script, no outside resource, the site's own stylesheet (and so its accessibility)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return Response(
        {"info": schema["info"], "operations": _operations(schema)},
        template_name="api/docs.html",
    )
