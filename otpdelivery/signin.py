"""Sign-in throttling with django-axes, set up for couriers on a shared depot network.

Failures are counted per username, never per address alone: thirty couriers signing in
through one depot router must not lock each other out because one of them mistyped.
"""

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class SignInThrottleBackend(AxesStandaloneBackend):
    """Axes' check on every sign-in made through a web request.

    Sign-ins with no request (the test client's login(), a management command) cannot
    come from an attacker on the network; they are left to the next backend instead of
    failing, which is what axes would otherwise do.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


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
