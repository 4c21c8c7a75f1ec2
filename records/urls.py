from django.urls import path

from records import views

app_name = "records"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("alerts/read/", views.alerts_read, name="alerts_read"),
    path("new/", views.new_start, name="new"),
    path("new/<int:patient_id>/", views.new, name="new_for"),
    path("<uuid:request_id>/", views.request_detail, name="request"),
    path("<uuid:request_id>/verify/", views.verify, name="verify"),
    path("<uuid:request_id>/assign/", views.assign, name="assign"),
    path("<uuid:request_id>/fee/", views.fee, name="fee"),
    path("<uuid:request_id>/extend/", views.extend, name="extend"),
    path("<uuid:request_id>/deny/", views.deny, name="deny"),
    path("<uuid:request_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:request_id>/documents/", views.documents, name="documents"),
    path(
        "<uuid:request_id>/documents/<int:document_id>/remove/",
        views.document_remove,
        name="document_remove",
    ),
    path(
        "<uuid:request_id>/documents/<int:document_id>/title/",
        views.document_rename,
        name="document_rename",
    ),
    path(
        "<uuid:request_id>/documents/<int:document_id>/move/",
        views.document_move,
        name="document_move",
    ),
    path("<uuid:request_id>/build/", views.build, name="build"),
    path("<uuid:request_id>/build/status/", views.build_status, name="build_status"),
    path("<uuid:request_id>/package/", views.package, name="package"),
    path("<uuid:request_id>/send/", views.fulfil, name="fulfil"),
]
