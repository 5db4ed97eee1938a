"""Changes made from the courier side: routes, stops and failed attempts."""

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from orders.models import Shipment
from orders.services import shipment_reschedule

from .models import Courier, DeliveryAttempt, Route, Stop


@transaction.atomic
def route_add_stop(*, route: Route, shipment: Shipment) -> Stop:
    """Append the parcel to the end of the courier's round."""
    route = Route.objects.select_for_update().get(pk=route.pk)
    last = route.stops.aggregate(last=Max("position"))["last"] or 0
    return Stop.objects.create(route=route, shipment=shipment, position=last + 1)


@transaction.atomic
def delivery_attempt_record_failure(
    *, shipment: Shipment, courier: Courier, reason: str
) -> DeliveryAttempt:
    """Rule 8: the courier could not hand over; the parcel is rescheduled with a new code."""
    attempt = DeliveryAttempt.objects.create(
        shipment=shipment, courier=courier, reason=reason, created_at=timezone.now()
    )
    shipment_reschedule(
        shipment=shipment,
        actor=courier.user,
        note=str(DeliveryAttempt.Reason(reason).label),
    )
    return attempt
