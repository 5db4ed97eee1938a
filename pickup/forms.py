"""Forms of the pickup-point portal."""

from django import forms
from django.utils.translation import gettext_lazy as _

from couriers.forms import CodeEntryForm


class ReleaseForm(forms.Form):
    # The courier's field, unchanged: the same input, label and keyboard at the counter.
    code = CodeEntryForm.base_fields["code"]


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
