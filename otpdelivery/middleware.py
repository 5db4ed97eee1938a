"""Request middleware of our own."""

import zoneinfo

from django.conf import settings
from django.utils import timezone


class DeliveryTimeZoneMiddleware:
    """Show every time in the delivery time zone (rule 15): operations in the admin read
    the same clock as the customer and the courier, whatever TIME_ZONE the server runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timezone.activate(zoneinfo.ZoneInfo(settings.DELIVERY_TIME_ZONE))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
