"""Forms of the courier portal."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DeliveryAttempt


class CodeEntryForm(forms.Form):
    """The code at the door. Its inputs are written in the templates
    (_partials/_code_field.html and couriers/stop.html), not rendered by widgets."""

    # Kept as typed: the code service normalises it and records malformed input.
    code = forms.CharField(
        label=_("Delivery code"),
        help_text=_(
            "Ask the customer to read you the six-digit code from their email or the tracking page."
        ),
        strip=False,
    )
    # Filled in by the browser when the courier lets it share the position.
    latitude = forms.DecimalField(
        required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        required=False, min_value=-180, max_value=180, widget=forms.HiddenInput
    )

    def position(self) -> tuple:
        """(latitude, longitude) rounded to the stored precision, or (None, None)."""
        latitude = self.cleaned_data.get("latitude")
        longitude = self.cleaned_data.get("longitude")
        if latitude is None or longitude is None:
            return None, None
        return round(latitude, 6), round(longitude, 6)


class FailedAttemptForm(forms.Form):
    # Its radio buttons are written in couriers/stop.html.
    reason = forms.ChoiceField(
        label=_("Why could the parcel not be handed over?"),
        choices=DeliveryAttempt.Reason.choices,
        widget=forms.RadioSelect,
    )
