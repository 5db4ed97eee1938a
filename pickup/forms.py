"""Forms of the pickup-point portal."""

from django import forms
from django.utils.translation import gettext_lazy as _

from couriers.forms import CodeEntryForm


class ReleaseForm(CodeEntryForm):
    """The courier's code field: the same input, label and keyboard at the counter."""

    # No position to share: the pickup point is where the parcel is handed over.
    latitude = None
    longitude = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _(
            "Ask the customer for the six-digit code from their email or tracking page. "
            "The code alone finds their parcel."
        )


class ReceiptForm(forms.Form):
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "enterkeyhint": "done",
            }
        ),
    )

    def clean_tracking_number(self) -> str:
        # Read off a label or over the phone: case and spaces do not matter.
        return "".join(self.cleaned_data["tracking_number"].split()).upper()
