from django.urls import path

from portal import consent_urls, guest_urls, proxy_urls, proxy_views, records_urls, views

app_name = "portal"

urlpatterns = [
    path("messages/", views.inbox, name="inbox"),
    path("messages/<str:thread_id>/", views.thread, name="thread"),
    path("messages/<str:thread_id>/reply/", views.reply, name="reply"),
    path("attachments/<str:attachment_id>/", views.attachment, name="attachment"),
    path("acting-for/", proxy_views.acting_choose, name="acting_choose"),
    *guest_urls.urlpatterns,
    *consent_urls.urlpatterns,
    *records_urls.urlpatterns,
    *proxy_urls.urlpatterns,
]
