from django.urls import path

from . import views

urlpatterns = [
    path("", views.today, name="courier_today"),
    path("stops/<tracking:tracking_number>/", views.stop_detail, name="courier_stop"),
    path("stops/<tracking:tracking_number>/failed/", views.stop_failed, name="courier_stop_failed"),
    path(
        "stops/<tracking:tracking_number>/dropped/", views.stop_dropped, name="courier_stop_dropped"
    ),
]
