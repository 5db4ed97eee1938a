"""Site-wide views: where a signed-in person lands, and the health check."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from couriers.selectors import courier_for_user
from orders.models import Order
from pickup.selectors import pickup_points_for_operator


@login_required
def home(request):
    """Send each person to their portal: courier, pickup point, operations, or customer."""
    if courier_for_user(request.user) is not None:
        return redirect("courier_today")
    if pickup_points_for_operator(user=request.user).exists():
        return redirect("pickup_home")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("order_list")


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def bench_baseline(request):
    """The benchmark's yardstick: what any signed-in page costs at least.

    A signed-in request that makes one indexed read of the person's own rows and renders
    no template. It is not linked anywhere and answers 404 unless BENCH_BASELINE_VIEW is
    true, which only `make bench` sets: production never serves it.
    """
    if not settings.BENCH_BASELINE_VIEW:
        raise Http404
    return _bench_baseline(request)


@never_cache
@require_GET
@login_required
def _bench_baseline(request):
    latest_order = (
        Order.objects.filter(customer=request.user)
        .order_by("-pk")
        .values_list("number", flat=True)
        .first()
    )
    return HttpResponse(latest_order or "-", content_type="text/plain; charset=utf-8")
