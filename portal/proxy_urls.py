"""The patient's proxies: who can act for them, inviting a caregiver, stopping one."""

from django.urls import path

from portal import proxy_manage_views

urlpatterns = [
    path("proxies/", proxy_manage_views.proxies_list, name="proxies"),
    path("proxies/invite/", proxy_manage_views.proxy_invite, name="proxy_invite"),
    path("proxies/<uuid:link_id>/stop/", proxy_manage_views.proxy_revoke, name="proxy_revoke"),
]
