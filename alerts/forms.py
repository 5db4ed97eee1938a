from django import forms
from django.utils.translation import gettext_lazy as _


class AlertResolveForm(forms.Form):
    note = forms.CharField(
        label=_("What was done"),
        help_text=_("Kept with the alert, with your name and the time."),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )

    def clean_note(self):
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError(_("Say what was done before resolving the alert."))
        return note
