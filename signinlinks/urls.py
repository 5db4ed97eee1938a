from django.urls import path

from . import views

urlpatterns = [
    path("", views.link_orders, name="signin_link_orders"),
    path("request/", views.request_link, name="signin_link_request"),
    path("<tracking:tracking_number>/", views.link_track, name="signin_link_track"),
    path("<tracking:tracking_number>/not-me/", views.report_not_me, name="signin_link_report"),
]
