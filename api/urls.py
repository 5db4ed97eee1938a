"""The retailer API under /api/v1/, its OpenAPI schema and its documentation page."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views
from .exceptions import not_found

urlpatterns = [
    path("orders", views.OrderListCreate.as_view(), name="api_orders"),
    path("orders/<str:number>", views.OrderDetail.as_view(), name="api_order"),
    path(
        "shipments/<tracking:tracking_number>",
        views.ShipmentDetail.as_view(),
        name="api_shipment",
    ),
    path(
        "shipments/<tracking:tracking_number>/ship",
        views.ShipmentShip.as_view(),
        name="api_shipment_ship",
    ),
    path("pickup-points", views.PickupPointList.as_view(), name="api_pickup_points"),
    path(
        "webhook-endpoints",
        views.WebhookEndpointListCreate.as_view(),
        name="api_webhook_endpoints",
    ),
    path(
        "webhook-endpoints/<int:pk>",
        views.WebhookEndpointDelete.as_view(),
        name="api_webhook_endpoint",
    ),
    path("schema", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs", views.api_docs, name="api_docs"),
    re_path(r"^.*$", not_found),
]
