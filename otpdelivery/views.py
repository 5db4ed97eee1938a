"""Site-wide views: where a signed-in person lands, and the health check."""

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from couriers.selectors import courier_for_user


@login_required
def home(request):
    """Send each person to their portal: courier, operations, or customer."""
    if courier_for_user(request.user) is not None:
        return redirect("courier_today")
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
