"""The Alerts list: what needs a person, each resolved with a note. Never a code."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .exceptions import AlertAlreadyResolved
from .forms import AlertResolveForm
from .models import Alert
from .services import alert_resolve


class AlertStateFilter(admin.SimpleListFilter):
    """Open alerts first: the list opens on what still needs someone."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", _("Open")), ("resolved", _("Resolved")), ("all", _("All"))]

    def value(self):
        return super().value() or "open"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "opened_at",
        "kind",
        "tracking_number",
        "person",
        "details",
        "resolved_at",
        "resolved_by",
        "resolve_link",
    ]
    list_display_links = ["opened_at"]
    list_filter = [AlertStateFilter, "kind"]
    search_fields = ["shipment__tracking_number", "person__username", "person__last_name"]
    list_select_related = ["shipment", "person", "resolved_by"]
    fields = [
        "kind",
        "shipment",
        "person",
        "details",
        "opened_at",
        "resolved_at",
        "resolved_by",
        "resolution_note",
    ]
    readonly_fields = fields
    actions = ["resolve_alerts"]

    # Alerts are opened by the services and closed only through the resolve form.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resolve_permission(self, request, obj=None):
        return request.user.has_perm("alerts.change_alert")

    @admin.display(description=_("tracking number"), ordering="shipment__tracking_number")
    def tracking_number(self, alert):
        if alert.shipment is None:
            return ""
        return format_html(
            '<a href="{}" data-tracking-number="{}">{}</a>',
            reverse("admin:orders_shipment_change", args=[alert.shipment_id]),
            alert.shipment.tracking_number,
            alert.shipment.tracking_number,
        )

    @admin.display(description=_("resolve"))
    def resolve_link(self, alert):
        if not alert.is_open:
            return ""
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:alerts_alert_resolve", args=[alert.pk]),
            _("Resolve…"),
        )

    def get_urls(self):
        resolve = path(
            "<path:object_id>/resolve/",
            self.admin_site.admin_view(self.resolve_view),
            name="alerts_alert_resolve",
        )
        return [resolve, *super().get_urls()]

    def _resolve(self, request, alerts, note) -> int:
        resolved = 0
        for alert in alerts:
            try:
                alert_resolve(alert=alert, actor=request.user, note=note)
            except AlertAlreadyResolved:
                self.message_user(
                    request,
                    _("%(alert)s was already resolved.") % {"alert": alert},
                    messages.WARNING,
                )
            else:
                resolved += 1
        if resolved:
            self.message_user(
                request,
                ngettext("%(count)d alert resolved.", "%(count)d alerts resolved.", resolved)
                % {"count": resolved},
                messages.SUCCESS,
            )
        return resolved

    def _form_page(self, request, *, form, alerts, action=""):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Resolve alerts"),
            "intro": _("Each alert is closed with your name, the time and this note."),
            "objects": alerts,
            "form": form,
            "selected": [alert.pk for alert in alerts] if action else [],
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": _("Resolve"),
            "back_url": reverse("admin:alerts_alert_changelist"),
        }
        return TemplateResponse(request, "admin/action_form.html", context)

    @admin.action(description=_("Resolve with a note…"), permissions=["resolve"])
    def resolve_alerts(self, request, queryset):
        alerts = list(queryset.filter(resolved_at__isnull=True))
        form = AlertResolveForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            self._resolve(request, alerts, form.cleaned_data["note"])
            return None
        return self._form_page(request, form=form, alerts=alerts, action="resolve_alerts")

    def resolve_view(self, request, object_id):
        alert = self.get_object(request, object_id)
        if alert is None:
            raise Http404
        if not self.has_resolve_permission(request, alert):
            raise PermissionDenied
        back = reverse("admin:alerts_alert_changelist")
        if not alert.is_open:
            self.message_user(
                request, _("%(alert)s was already resolved.") % {"alert": alert}, messages.WARNING
            )
            return redirect(back)
        form = AlertResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            self._resolve(request, [alert], form.cleaned_data["note"])
            return redirect(back)
        return self._form_page(request, form=form, alerts=[alert])
