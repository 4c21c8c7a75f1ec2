"""The patient's record requests: ask for a copy, follow it, withdraw it."""

from django.urls import path

from portal import records_views

urlpatterns = [
    path("records/", records_views.records, name="records"),
    path("records/new/", records_views.records_new, name="records_new"),
    path("records/<uuid:request_id>/", records_views.records_detail, name="records_detail"),
    path(
        "records/<uuid:request_id>/withdraw/",
        records_views.records_withdraw,
        name="records_withdraw",
    ),
]
