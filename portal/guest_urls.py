"""Guest pickup: a third party named in an authorization opens one package.

Public routes (listed in ``accounts.access.PUBLIC_VIEWS``); included by ``portal.urls``.
"""

from django.urls import path

from portal import guest_views

urlpatterns = [
    path("pickup/code/", guest_views.guest_code, name="guest_code"),
    path("pickup/package/", guest_views.guest_package, name="guest_package"),
    path(
        "pickup/attachments/<str:attachment_id>/",
        guest_views.guest_attachment,
        name="guest_attachment",
    ),
    # Last: "code" and "package" are not tokens.
    path("pickup/<str:token>/", guest_views.guest_open, name="guest_open"),
]
