"""Sign-in throttling with django-axes, set up for couriers on a shared depot network.

Failures are counted per username and address (AXES_LOCKOUT_PARAMETERS): thirty couriers
signing in through one depot router do not lock each other out because one mistyped, and
someone guessing marco's password from elsewhere locks out their own address, not marco.
A per-username backstop across all addresses stops a guesser with many addresses, and
opens an alert for operations, who can unlock a person at once (the people list's action
*Unlock sign-in*).
"""

import logging

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.db.models import Sum
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Alert
from alerts.services import alert_open


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' check on every sign-in made through a web request.

    Sign-ins with no request (the test client's login(), a management command) cannot
    come from an attacker on the network; they are left to the next backend instead of
    failing, which is what axes would otherwise do.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        if username and signin_backstop_reached(username=username):
            # As axes does for a lock: the middleware shows the lockout page.
            request.axes_locked_out = True
            raise AxesBackendPermissionDenied("Sign-in backstop reached for this username")
        return super().authenticate(request, username=username, password=password, **kwargs)


logger = logging.getLogger(__name__)


def signin_backstop_reached(*, username: str) -> bool:
    """Whether `username` failed SIGNIN_BACKSTOP_FAILURES times, from all addresses
    together, within the lockout time; if so an alert is open for operations."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    failures = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
            total=Sum("failures_since_start")
        )["total"]
        or 0
    )
    if failures < settings.SIGNIN_BACKSTOP_FAILURES:
        return False
    person = get_user_model().objects.filter(username=username).first()
    alert_open(
        kind=Alert.Kind.SIGNIN_BACKSTOP,
        person=person,
        # Not the username typed: anyone can type anything there, a code included.
        details=f"{failures} failed sign-ins from several addresses; refused from every "
        "address until they age out or operations unlock the person.",
    )
    logger.warning("Sign-in backstop reached for a username (%d failures)", failures)
    return True


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a username longer than any account's before the
    password is checked.

    Django sets the field's max_length after the field is made, so no validator checks
    it: a 256-character username reached the sign-in throttle, whose table refused it
    with a server error.
    """

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


def signin_locked_out(request, original_response=None, credentials=None):
    """The sign-in page again, with a clear message instead of axes' bare 429 text."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    if minutes:
        message = ngettext(
            "Too many failed sign-ins for this username. Try again in %(minutes)d minute, "
            "or ask operations to unlock the account.",
            "Too many failed sign-ins for this username. Try again in %(minutes)d minutes, "
            "or ask operations to unlock the account.",
            minutes,
        ) % {"minutes": minutes}
    else:
        message = _(
            "Too many failed sign-ins for this username. Ask operations to unlock the account."
        )
    username = (credentials or {}).get("username", "")
    form = SignInForm(request, initial={"username": username})
    return render(
        request,
        "registration/login.html",
        {"form": form, "locked_out_message": message, "next": request.POST.get("next", "")},
        status=429,
    )
