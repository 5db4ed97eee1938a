"""Forms of the courier portal."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DeliveryAttempt


class CodeEntryForm(forms.Form):
    # Kept as typed: the code service normalises it and records malformed input.
    code = forms.CharField(
        label=_("Delivery code"),
        help_text=_(
            "Ask the customer to read you the six-digit code from their email or the tracking page."
        ),
        strip=False,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "enterkeyhint": "done",
            }
        ),
    )
    # Filled in by the browser when the courier lets it share the position.
    latitude = forms.DecimalField(
        required=False, min_value=-90, max_value=90, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        required=False, min_value=-180, max_value=180, widget=forms.HiddenInput
    )

    def add_error(self, field, error):
        super().add_error(field, error)
        # After a mistake the courier types again at once, and a screen reader lands there;
        # Django itself marks the input aria-invalid and points it at the error text.
        if field == "code":
            self.fields["code"].widget.attrs["autofocus"] = True

    def position(self) -> tuple:
        """(latitude, longitude) rounded to the stored precision, or (None, None)."""
        latitude = self.cleaned_data.get("latitude")
        longitude = self.cleaned_data.get("longitude")
        if latitude is None or longitude is None:
            return None, None
        return round(latitude, 6), round(longitude, 6)


class FailedAttemptForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why could the parcel not be handed over?"),
        choices=DeliveryAttempt.Reason.choices,
        widget=forms.RadioSelect,
    )
