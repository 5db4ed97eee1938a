"""Forms of the courier portal."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.translation import gettext_lazy as _

from .models import DeliveryAttempt


class CoordinateField(forms.Field):
    """A position the browser may share: a number within +/- `limit`, else nothing.

    The position is a courtesy the browser adds; a value that is not a usable coordinate
    (NaN, out of range, text) is dropped rather than refusing the code entry it came with,
    which would stop a delivery over a hidden field the courier cannot see or fix.
    """

    widget = forms.HiddenInput

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        super().__init__(required=False, **kwargs)

    def to_python(self, value):
        if not isinstance(value, str) or not value.strip() or len(value) > 32:
            return None
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        if not number.is_finite() or abs(number) > self.limit:
            return None
        return round(number, 6)


class RawCodeField(forms.CharField):
    """The code exactly as typed, empty or holding a NUL included: the code service alone
    decides what is malformed (codes.tokens.normalize) and records every entry (rule 10),
    so the form refuses nothing a person could have typed."""

    def __init__(self, **kwargs):
        super().__init__(strip=False, required=False, **kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]


class CodeEntryForm(forms.Form):
    """The code at the door. Its inputs are written in the templates
    (_partials/_code_field.html and couriers/stop.html), not rendered by widgets."""

    code = RawCodeField(
        label=_("Delivery code"),
        help_text=_(
            "Ask the customer to read you the six-digit code from their email or the tracking page."
        ),
    )
    # Filled in by the browser when the courier lets it share the position.
    latitude = CoordinateField(limit=90)
    longitude = CoordinateField(limit=180)

    def position(self) -> tuple:
        """(latitude, longitude) rounded to the stored precision, or (None, None)."""
        latitude = self.cleaned_data.get("latitude")
        longitude = self.cleaned_data.get("longitude")
        if latitude is None or longitude is None:
            return None, None
        return latitude, longitude


class FailedAttemptForm(forms.Form):
    # Its radio buttons are written in couriers/stop.html.
    reason = forms.ChoiceField(
        label=_("Why could the parcel not be handed over?"),
        choices=DeliveryAttempt.Reason.choices,
        widget=forms.RadioSelect,
    )
