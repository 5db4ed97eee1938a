from django.contrib import admin

from otpdelivery.admin_mixins import ReadOnlyAdminMixin

from .models import TaskRun


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["task", "started_at", "duration_seconds", "rows"]
    list_filter = ["task"]
