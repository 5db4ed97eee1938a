"""Site-wide views: where a signed-in person lands, the health check, password reset."""

import datetime

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection, transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateformat import time_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from couriers.selectors import courier_for_user
from orders.models import Order
from pickup.selectors import pickup_points_for_operator

from .http import client_ip
from .ratelimit import Limit, ratelimit_take


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


def bad_request(request, exception):
    """Our 400 page for anything the server cannot take (a body in a charset Django
    refuses, a parameter out of range, a lookup the admin does not allow).

    Django's own handler checks the CSRF token first, which reads the body again, and a
    body that failed to parse raises again there, escaping as the web server's bare
    error page. The body is marked unreadable instead: whatever reads it while the page
    is built finds it empty.
    """
    request._mark_post_parse_error()
    return render(request, "400.html", status=400)


@never_cache
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@csrf_exempt
def bench_baseline(request):
    """The benchmark's yardstick: what any signed-in page costs at least.

    A signed-in request that makes one indexed read of the person's own rows and renders
    no template. It is not linked anywhere and answers 404 unless BENCH_BASELINE_VIEW is
    true, which only `make bench` sets: production never serves it. It checks CSRF itself
    (csrf_protect below), after the switch: switched off, a POST without a token gets the
    same 404 as any unknown address, not a 403 that would tell the address exists.
    """
    if not settings.BENCH_BASELINE_VIEW:
        raise Http404
    return _bench_baseline(request)


@never_cache
@csrf_protect
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


@csrf_exempt
def bench_entry_floor(request):
    """The least a code entry could cost, for the benchmark: the baseline page's requests
    plus the statements a code entry sends (one read before a transaction that locks two
    rows, reads once and writes once), with no rule, no form and no template.

    Like the baseline it answers 404 unless BENCH_BASELINE_VIEW is true, and only changes
    a signed-in person's own order to what it was.
    """
    if not settings.BENCH_BASELINE_VIEW:
        raise Http404
    return _bench_entry_floor(request)


@never_cache
@csrf_protect
@require_POST
@login_required
def _bench_entry_floor(request):
    order = Order.objects.filter(customer=request.user).order_by("-pk").values("pk").first()
    if order is None:
        raise Http404
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    with transaction.atomic(), connection.cursor() as cursor:
        # The lock clause is one of two constants, never input.
        cursor.execute(f"SELECT 1 FROM auth_user WHERE id = %s{lock}", [request.user.pk])  # noqa: S608
        cursor.execute(f"SELECT 1 FROM orders_order WHERE id = %s{lock}", [order["pk"]])  # noqa: S608
        cursor.execute(
            "SELECT count(*) FROM orders_order WHERE customer_id = %s", [request.user.pk]
        )
        cursor.execute("UPDATE orders_order SET email = email WHERE id = %s", [order["pk"]])
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, with at most a few emails an hour per address asked for
    and per client address (otpdelivery.ratelimit), so nobody can flood someone's inbox.

    Counted per address typed, whether or not an account has it, so the page answers
    the same for known and unknown addresses, also when it refuses.
    """

    def form_valid(self, form):
        hour = datetime.timedelta(hours=1)
        result = ratelimit_take(
            limits=[
                Limit(
                    "password_reset:recipient",
                    form.cleaned_data["email"],
                    settings.PASSWORD_RESET_MAX_PER_RECIPIENT_PER_HOUR,
                    hour,
                ),
                Limit(
                    "password_reset:requester",
                    client_ip(self.request),
                    settings.PASSWORD_RESET_MAX_PER_REQUESTER_PER_HOUR,
                    hour,
                ),
            ]
        )
        if result.allowed:
            return super().form_valid(form)
        form.add_error(
            "email",
            _(
                "Too many password-reset emails have been asked for this address or from "
                "your network. Try again after %(time)s."
            )
            % {"time": time_format(timezone.localtime(result.retry_at), "H:i")},
        )
        response = self.form_invalid(form)
        response.status_code = 429
        return response
