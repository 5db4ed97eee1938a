"""Operations manage retailers and their API keys. A new key is shown once, on the page
that follows its creation; afterwards only its first characters are ever shown."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ApiKey, Retailer
from .services import api_key_create, api_key_revoke


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Retailer)
class RetailerAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "retailer", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["retailer", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["retailer"]
    search_fields = ["name", "retailer__name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["retailer", "name"]
        return ["retailer", "name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # A key's owner never changes: make a new key for another retailer instead.
        return ["retailer", *self.readonly_fields]

    def has_delete_permission(self, request, obj=None):
        # Revoked, not deleted: the record of who had a key, and when, stays.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, raw_key = api_key_create(retailer=obj.retailer, name=obj.name)
        obj.pk = api_key.pk
        obj.__dict__.update(
            {field: getattr(api_key, field) for field in ("prefix", "key_hash", "created_at")}
        )
        # Only on the next page, once; never in a message cookie or the session.
        request._new_api_key = raw_key

    def response_add(self, request, obj, post_url_continue=None):
        raw_key = getattr(request, "_new_api_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": _("API key created"),
            "api_key": obj,
            "raw_key": raw_key,
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/retailers/apikey/created.html", context)

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for api_key in keys:
            api_key_revoke(api_key=api_key)
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", len(keys))
            % {"count": len(keys)},
            messages.SUCCESS,
        )
