from django.urls import path

from . import views

urlpatterns = [
    path("<str:tracking_number>/", views.track, name="track"),
]
