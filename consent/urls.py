from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient, name="patient"),
    path(
        "patients/<int:patient_id>/authorizations/new/",
        views.paper_record,
        name="paper_record",
    ),
    path("patients/<int:patient_id>/waiver/", views.waiver_record, name="waiver_record"),
    path(
        "patients/<int:patient_id>/disclosures/new/",
        views.outside_disclosure_record,
        name="outside_disclosure_record",
    ),
    path("patients/<int:patient_id>/accounting.pdf", views.accounting_pdf, name="accounting_pdf"),
    path("authorizations/", views.authorizations, name="authorizations"),
    path("authorizations/<uuid:authorization_id>/", views.authorization, name="authorization"),
    path("authorizations/<uuid:authorization_id>/revoke/", views.revoke, name="revoke"),
    path(
        "authorizations/<uuid:authorization_id>/expired/",
        views.event_expire,
        name="event_expire",
    ),
    path("authorizations/<uuid:authorization_id>/correct/", views.correct, name="correct"),
    path("authorizations/<uuid:authorization_id>/scan/", views.scan, name="scan"),
    path(
        "authorizations/<uuid:authorization_id>/fhir.json",
        views.fhir_export,
        name="fhir",
    ),
    path("waiver-statements/", views.waiver_statements, name="waiver_statements"),
]
