"""The customer portal: Your orders, and Track my package for each parcel."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from codes.selectors import code_visible_to_customer

from .selectors import orders_for_customer, shipments_for_customer


@never_cache
@login_required
def order_list(request):
    orders = orders_for_customer(user=request.user)
    return render(request, "orders/order_list.html", {"orders": orders})


@never_cache
@login_required
def track(request, tracking_number):
    # Another customer's parcel is a 404, never a 403 that would confirm it exists.
    shipment = get_object_or_404(
        shipments_for_customer(user=request.user), tracking_number=tracking_number
    )
    code = code_visible_to_customer(shipment=shipment, now=timezone.now())
    return render(request, "orders/track.html", {"shipment": shipment, "code": code})
