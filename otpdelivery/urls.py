"""Top-level URLs: sign-in, the three portals, the admin and the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from customers import views as customer_views
from dashboard import views as dashboard_views

from . import views
from .converters import TrackingNumberConverter
from .signin import SignInForm

register_converter(TrackingNumberConverter, "tracking")

handler400 = "otpdelivery.views.bad_request"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Only for `make bench`: a 404 unless BENCH_BASELINE_VIEW is true. Never linked.
    path("bench/baseline", views.bench_baseline, name="bench_baseline"),
    path("bench/entry-floor", views.bench_entry_floor, name="bench_entry_floor"),
    # Before Django's own: the same pages, the sign-in refusing over-long usernames and the
    # password reset rate-limited.
    path(
        "accounts/",
        include(
            [
                path(
                    "login/",
                    auth_views.LoginView.as_view(authentication_form=SignInForm),
                    name="login",
                ),
                path("password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
            ]
        ),
    ),
    path("accounts/link/", include("signinlinks.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("metrics", dashboard_views.metrics_view, name="metrics"),
    # Before the admin's own URLs; admin_view sends anyone but staff to the admin sign-in.
    path("admin/dashboard/", admin.site.admin_view(dashboard_views.dashboard), name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
    path("orders/", customer_views.order_list, name="order_list"),
    path("track/", include("customers.urls")),
    path("courier/", include("couriers.urls")),
    path("pickup/", include("pickup.urls")),
]
