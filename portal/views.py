"""The patient's screens: their threads, reading, downloading and replying, after MFA.

Every read goes through ``messaging.selectors`` with the patient as the user, so a
foreign thread or attachment id answers 404. Opening a message is audited each time.
"""

from __future__ import annotations

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import request_user
from core.decorators import allowed_if
from encryption.files import file_response
from encryption.uploads import CheckedUpload
from messaging import selectors, services
from messaging.forms import ReplyForm, new_send_key
from messaging.markup import body_render
from messaging.models import MessageState, Thread
from messaging.views import THREAD_REMOVED, reply_submitted
from portal.labels import role_label

patients_only = allowed_if(lambda user: user.is_authenticated and user.is_patient)
PAGE_SIZE = 20


@never_cache
@require_GET
@patients_only
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.patient_inbox(user=request_user(request)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = list(page.object_list)
    showing = selectors.threads_showing_subject(thread_ids=[t.pk for t in page.object_list])
    for thread in page.object_list:
        thread.shows_subject = thread.pk in showing  # type: ignore[attr-defined]
        thread.sender_role = role_label(thread.latest_author_role)  # type: ignore[attr-defined]
    services.inbox_view_record(actor=request_user(request), threads=page.object_list)
    return render(request, "portal/inbox.html", {"page": page, "area": "portal"})


@never_cache
@require_GET
@patients_only
def thread(request: HttpRequest, thread_id: str) -> HttpResponse:
    found = selectors.thread_for(user=request_user(request), thread_id=thread_id)
    return _thread_page(request, found, ReplyForm(initial={"send_key": new_send_key()}))


def _thread_page(
    request: HttpRequest, found: Thread, form: ReplyForm, status: int = 200
) -> HttpResponse:
    user = request_user(request)
    shown = selectors.thread_messages(user=user, thread=found, page=request.GET.get("page"))
    # Recalled and expired messages are shown as such; only a readable one is opened.
    opened = services.messages_open(actor=user, messages=list(shown.object_list))
    rows = []
    for message in shown.object_list:
        readable = message.pk in opened
        rows.append(
            {
                "message": message,
                "readable": readable,
                "expired": message.state == "sent" and message.is_expired(),
                "html": body_render(message.body) if readable else "",
                "attachments": list(message.attachments.all()) if readable else [],
            }
        )
    return render(
        request,
        "portal/thread.html",
        {
            "thread": found,
            "rows": rows,
            "page": shown,
            "form": form,
            "shows_subject": found.messages.filter(state=MessageState.SENT).exists(),
            "area": "portal",
        },
        status=status,
    )


@never_cache
@require_GET
@patients_only
def attachment(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    user = request_user(request)
    found = selectors.attachment_for(user=user, attachment_id=attachment_id)
    response = file_response(found.file)
    services.attachment_download_record(actor=user, attachment=found, patient_id=user.pk)
    return response


@sensitive_post_parameters("body")
@require_POST
@patients_only
def reply(request: HttpRequest, thread_id: str) -> HttpResponse:
    user = request_user(request)
    found = selectors.thread_for(user=user, thread_id=thread_id)

    if found.is_erased:
        flash.error(request, THREAD_REMOVED)
        return redirect("portal:thread", thread_id=found.pk)

    def send(form: ReplyForm, uploads: list[CheckedUpload]) -> object:
        return services.reply_send(
            actor=user,
            thread=found,
            body=form.cleaned_data["body"],
            send_key=form.cleaned_data["send_key"],
            attachments=uploads,
        )

    form, sent = reply_submitted(request, send)
    if sent:
        flash.success(request, gettext("Reply sent to your care team."))
        return redirect("portal:thread", thread_id=found.pk)
    return _thread_page(request, found, form, status=400)
