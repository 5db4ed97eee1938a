"""Admin building blocks shared by the apps."""


class ReadOnlyAdminMixin:
    """Records that no one edits or deletes by hand: audit rows, codes, events."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
