from django import forms
from django.utils.translation import gettext_lazy as _


class SignInLinkRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class SignInLinkForm(forms.Form):
    sesame = forms.CharField(max_length=200, widget=forms.HiddenInput)
