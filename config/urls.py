from django.contrib import admin
from django.urls import include, path

from accounts import urls as accounts_urls
from portal.home_views import home

# The home page keeps its name, "accounts:home", but is drawn by portal, which may read
# messaging, records and consent; accounts sits below them (DESIGN.md).
accounts_patterns = [path("", home, name="home"), *accounts_urls.urlpatterns]

urlpatterns = [
    path("", include((accounts_patterns, accounts_urls.app_name))),
    path("passkeys/", include("accounts.webauthn_urls")),
    path("audit/", include("audit.urls")),
    path("messages/", include("messaging.urls")),
    path("consent/", include("consent.urls")),
    path("portal/", include("portal.urls")),
    path("records/", include("records.urls")),
    path("retention/", include("retention.urls")),
    path("directory/", include("directory.urls")),
    path("compliance/", include("compliance.urls")),
    path("evidence/", include("evidence.urls")),
    path("admin/", admin.site.urls),
]
