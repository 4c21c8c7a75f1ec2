from django.urls import path

from messaging import guest_views, views

app_name = "messaging"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("new/", views.compose_start, name="compose_start"),
    path("new/<int:patient_id>/", views.compose, name="compose"),
    path("drafts/<str:message_id>/", views.draft_edit, name="draft"),
    path("threads/<str:thread_id>/", views.thread, name="thread"),
    path("threads/<str:thread_id>/reply/", views.thread_reply, name="thread_reply"),
    path("threads/<str:thread_id>/assign/", views.thread_assign, name="thread_assign"),
    path("threads/<str:thread_id>/handled/", views.thread_handled, name="thread_handled"),
    path(
        "threads/<str:thread_id>/confidential/",
        views.thread_confidential,
        name="thread_confidential",
    ),
    path("messages/<str:message_id>/recall/", views.message_recall, name="recall"),
    path("attachments/<str:attachment_id>/", views.attachment_download, name="attachment"),
    path("notices/<str:delivery_id>/resend/", views.delivery_resend, name="delivery_resend"),
    path("notices/<str:delivery_id>/letter/", views.delivery_letter, name="delivery_letter"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/archive/", views.template_archive, name="template_archive"),
    path("delivery-policy/", views.delivery_policy, name="delivery_policy"),
    path("hooks/bounce/", views.bounce_webhook, name="bounce_webhook"),
    # Third-party packages (guest pickup): messaging/guest_views.py
    path("third-party/<int:patient_id>/", guest_views.guest_compose, name="guest_compose"),
    path(
        "third-party/patients/<int:patient_id>/",
        guest_views.guest_packages,
        name="guest_packages",
    ),
    path("third-party/<str:package_id>/recall/", guest_views.guest_recall, name="guest_recall"),
]
