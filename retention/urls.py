from django.urls import path

from retention import views

app_name = "retention"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("policies/<str:kind>/", views.policy_edit, name="policy_edit"),
    path("holds/", views.holds, name="holds"),
    path("holds/place/", views.hold_place, name="hold_place"),
    path("holds/<uuid:hold_id>/release/", views.hold_release, name="hold_release"),
    path("purges/", views.runs, name="runs"),
]
