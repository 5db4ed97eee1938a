"""Forms of the customer portal."""

from django import forms
from django.utils.translation import gettext_lazy as _

from couriers.selectors import active_pickup_points


class PickupPointChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, pickup_point):
        address = ", ".join(pickup_point.address.splitlines())
        return f"{pickup_point.name} — {address}"


class PickupPointChoiceForm(forms.Form):
    pickup_point = PickupPointChoiceField(
        label=_("Collect it at a pickup point instead"),
        queryset=active_pickup_points(),
        empty_label=None,
        widget=forms.RadioSelect,
    )
