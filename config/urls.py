from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("passkeys/", include("accounts.webauthn_urls")),
    path("audit/", include("audit.urls")),
    path("messages/", include("messaging.urls")),
    path("consent/", include("consent.urls")),
    path("portal/", include("portal.urls")),
    path("records/", include("records.urls")),
    path("retention/", include("retention.urls")),
    path("directory/", include("directory.urls")),
    path("admin/", admin.site.urls),
]
