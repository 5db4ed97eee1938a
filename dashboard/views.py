"""The operations dashboard (staff only, inside the admin) and the Prometheus endpoint."""

import hmac

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import metrics, selectors


def _day(day) -> str:
    return date_format(day, "j F")


def _chart_data(*, first_attempts, entries, weeks) -> dict:
    """What dashboard.js draws: labels already translated and formatted, numbers only."""
    return {
        "first_attempt": {
            "labels": [_day(day.day) for day in first_attempts],
            "datasets": [
                {
                    "label": _("First-attempt delivery rate (%)"),
                    "data": [d.rate for d in first_attempts],
                }
            ],
        },
        "entries": {
            "labels": [_day(day) for day in entries.days],
            "datasets": [
                {"label": str(entries.label(outcome)), "data": counts}
                for outcome, counts in entries.counts.items()
            ],
        },
        "weekly": {
            "labels": [_day(week.monday) for week in weeks],
            "x_title": _("Week of"),
            "datasets": [
                {"label": str(label), "data": [getattr(week, name) for week in weeks]}
                for name, label in selectors.WEEKLY_SERIES.items()
            ],
        },
    }


@never_cache
def dashboard(request):
    """Staff only (admin_view in the URLs sends anyone else to the admin sign-in); among
    staff, those who may read the audit trail of code entries, which it is drawn from."""
    if not request.user.has_perm("codes.view_codeentry"):
        raise PermissionDenied
    now = timezone.now()
    today = selectors.today_by_status(now=now)
    first_attempts = selectors.first_attempt_rate(now=now)
    entries = selectors.code_entries_per_day(now=now)
    weeks = selectors.weekly_events(now=now)
    couriers, operators = selectors.wrong_code_ranking(now=now)
    attempted = sum(day.attempted for day in first_attempts)
    first_time = sum(day.first_time for day in first_attempts)
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "now": now,
        "today": today,
        "first_attempts": first_attempts,
        "first_attempt_total": round(100 * first_time / attempted, 1) if attempted else None,
        "entries": entries,
        "entry_rows": [
            (day, [entries.counts[outcome][index] for outcome in entries.counts])
            for index, day in enumerate(entries.days)
        ],
        "entry_outcomes": [entries.label(outcome) for outcome in entries.counts],
        "weeks": weeks,
        "weekly_series": selectors.WEEKLY_SERIES,
        "couriers": couriers,
        "operators": operators,
        "history_days": selectors.HISTORY_DAYS,
        "ranking_days": selectors.RANKING_DAYS,
        "outlier_factor": selectors.OUTLIER_FACTOR,
        "outlier_min_wrong": selectors.OUTLIER_MIN_WRONG,
        "chart_data": _chart_data(first_attempts=first_attempts, entries=entries, weeks=weeks),
    }
    return TemplateResponse(request, "dashboard/dashboard.html", context)


def _bearer_token(request) -> str:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus scrapes this with `Authorization: Bearer <METRICS_TOKEN>`.

    Without a configured token the endpoint does not exist (404); with one, anything but
    that token is a 401, compared in constant time.
    """
    expected = settings.METRICS_TOKEN
    if not expected:
        raise Http404
    given = _bearer_token(request)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition(now=timezone.now())
    return HttpResponse(body, content_type=content_type)
