"""The page a sign-in link opens (one click signs in), and "Email me a sign-in link"."""

from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from sesame.backends import ModelBackend as SesameTokens

from alerts.models import Alert
from alerts.services import alert_open
from orders.models import Shipment
from otpdelivery.http import client_ip
from otpdelivery.signin_links import ORDERS_SCOPE, report_scope, tracking_scope

from .forms import SignInLinkForm, SignInLinkRequestForm
from .services import signin_link_request


def _link_page(request, *, scope: str, destination: str, tracking_number: str | None):
    if request.method == "POST":
        form = SignInLinkForm(request.POST)
        # The token checked directly (not through authenticate(), whose failure signal is
        # for passwords): bound to the customer, this page's scope and 7 days.
        user = (
            SesameTokens().authenticate(request, sesame=form.cleaned_data["sesame"], scope=scope)
            if form.is_valid()
            else None
        )
        if user is not None and (
            tracking_number is None
            or Shipment.objects.filter(
                tracking_number=tracking_number, order__customer=user
            ).exists()
        ):
            # login() sets last_login, which uses the link up (SESAME_ONE_TIME).
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(destination)
        return render(request, "signinlinks/link_invalid.html", status=400)
    # A GET only shows the button: a mail scanner's preview changes nothing.
    form = SignInLinkForm(initial={"sesame": request.GET.get("sesame", "")})
    return render(
        request,
        "signinlinks/link.html",
        {"form": form, "tracking_number": tracking_number},
    )


@never_cache
def link_track(request, tracking_number):
    return _link_page(
        request,
        scope=tracking_scope(tracking_number),
        destination=reverse("track", args=[tracking_number]),
        tracking_number=tracking_number,
    )


@never_cache
def link_orders(request):
    return _link_page(
        request, scope=ORDERS_SCOPE, destination=reverse("order_list"), tracking_number=None
    )


@never_cache
def request_link(request):
    form = SignInLinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signin_link_request(email=form.cleaned_data["email"], client_ip=client_ip(request))
        # The same answer whether or not the address is known, or the limit was reached.
        messages.success(
            request,
            _(
                "If an account uses this address, we have emailed it a sign-in link. "
                "It works for 7 days."
            ),
        )
        return redirect("login")
    return render(request, "signinlinks/request.html", {"form": form})


@never_cache
def report_not_me(request, tracking_number):
    """The delivered receipt's "this was not me": one click opens an alert for operations.
    The link is bound to the parcel's customer; it does not sign anyone in."""
    if request.method == "POST":
        form = SignInLinkForm(request.POST)
        user = (
            SesameTokens().authenticate(
                request, sesame=form.cleaned_data["sesame"], scope=report_scope(tracking_number)
            )
            if form.is_valid()
            else None
        )
        shipment = (
            Shipment.objects.filter(tracking_number=tracking_number, order__customer=user).first()
            if user is not None
            else None
        )
        if shipment is None:
            return render(request, "signinlinks/link_invalid.html", status=400)
        alert_open(
            kind=Alert.Kind.CUSTOMER_REPORT,
            shipment=shipment,
            person=user,
            details="The customer reports that the hand-over was not them.",
        )
        return render(request, "signinlinks/report_done.html", {"shipment": shipment})
    form = SignInLinkForm(initial={"sesame": request.GET.get("sesame", "")})
    return render(
        request,
        "signinlinks/report.html",
        {"form": form, "tracking_number": tracking_number},
    )
