"""The patient's sharing screens: authorizations, accounting, preferences."""

from django.urls import path

from portal import consent_views, document_password_views

urlpatterns = [
    path("sharing/", consent_views.sharing, name="sharing"),
    path("sharing/new/", consent_views.sharing_new, name="sharing_new"),
    path("sharing/disclosures/", consent_views.accounting, name="accounting"),
    path(
        "sharing/<uuid:authorization_id>/",
        consent_views.sharing_detail,
        name="sharing_detail",
    ),
    path(
        "sharing/<uuid:authorization_id>/revoke/",
        consent_views.sharing_revoke,
        name="sharing_revoke",
    ),
    path("preferences/", consent_views.preferences, name="preferences"),
    path("preferences/delivery/", consent_views.delivery_method, name="delivery_method"),
    path("preferences/email-waiver/", consent_views.waiver_accept, name="waiver_accept"),
    path("preferences/email-waiver/stop/", consent_views.waiver_revoke, name="waiver_revoke"),
    path(
        "preferences/document-password/",
        document_password_views.document_password,
        name="document_password",
    ),
    path(
        "preferences/document-password/remove/",
        document_password_views.document_password_remove,
        name="document_password_remove",
    ),
]
