from django.urls import path

from . import views

urlpatterns = [
    path("<tracking:tracking_number>/", views.track, name="track"),
    path(
        "<tracking:tracking_number>/pickup-point/",
        views.track_redirect_to_pickup_point,
        name="track_redirect",
    ),
    path("<tracking:tracking_number>/resend/", views.track_resend, name="track_resend"),
]
