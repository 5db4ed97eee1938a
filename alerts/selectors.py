"""Reads of alerts worth naming."""

from django.db.models import QuerySet

from .models import Alert


def open_alerts() -> QuerySet[Alert]:
    """Every alert still waiting for a person, newest first."""
    return Alert.objects.filter(resolved_at__isnull=True).select_related("shipment", "person")
