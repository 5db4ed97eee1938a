from django.urls import path

from . import views

urlpatterns = [
    path("", views.pickup_home, name="pickup_home"),
    path("<int:point_id>/", views.point_detail, name="pickup_point"),
    path("<int:point_id>/receive/", views.point_receive, name="pickup_receive"),
    path(
        "<int:point_id>/released/<tracking:tracking_number>/",
        views.point_released,
        name="pickup_released",
    ),
]
