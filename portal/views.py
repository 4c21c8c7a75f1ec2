"""The patient's screens: their threads, reading, downloading and replying, after MFA.

Every read goes through ``messaging.selectors`` with the patient as the user, so a
foreign thread or attachment id answers 404. Opening a message is audited each time.
A proxy reads and replies for the patient they act for (``portal.acting``), within their
link's scope and never in a confidential thread; the audit names the proxy as the actor
and the patient as whose data it was.
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

from accounts.models import ProxyScope
from encryption.files import file_response
from encryption.uploads import CheckedUpload
from messaging import selectors, services
from messaging.forms import ReplyForm, new_send_key
from messaging.markup import body_render
from messaging.models import MessageState, Thread
from messaging.views import THREAD_REMOVED, reply_submitted
from portal.acting import portal_page, request_acting
from portal.labels import role_label

PAGE_SIZE = 20
reads_messages = portal_page(ProxyScope.READ_MESSAGES)


@never_cache
@require_GET
@reads_messages
def inbox(request: HttpRequest) -> HttpResponse:
    acting = request_acting(request)
    threads = selectors.patient_inbox(user=acting.patient, for_proxy=acting.is_proxy)
    page = Paginator(threads, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    showing = selectors.threads_showing_subject(thread_ids=[t.pk for t in page.object_list])
    for thread in page.object_list:
        thread.shows_subject = thread.pk in showing  # type: ignore[attr-defined]
        thread.sender_role = role_label(thread.latest_author_role)  # type: ignore[attr-defined]
    services.inbox_view_record(actor=acting.actor, threads=page.object_list)
    return render(request, "portal/inbox.html", {"page": page, "area": "portal"})


@never_cache
@require_GET
@reads_messages
def thread(request: HttpRequest, thread_id: str) -> HttpResponse:
    acting = request_acting(request)
    found = selectors.thread_for(
        user=acting.patient, thread_id=thread_id, for_proxy=acting.is_proxy
    )
    return _thread_page(request, found, ReplyForm(initial={"send_key": new_send_key()}))


def _thread_page(
    request: HttpRequest, found: Thread, form: ReplyForm, status: int = 200
) -> HttpResponse:
    acting = request_acting(request)
    shown = selectors.thread_messages(
        user=acting.patient, thread=found, page=request.GET.get("page")
    )
    # Recalled and expired messages are shown as such; only a readable one is opened.
    opened = services.messages_open(actor=acting.actor, messages=list(shown.object_list))
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
            "may_reply": acting.may(ProxyScope.SEND_MESSAGES),
            "area": "portal",
        },
        status=status,
    )


@never_cache
@require_GET
@reads_messages
def attachment(request: HttpRequest, attachment_id: str) -> HttpResponseBase:
    acting = request_acting(request)
    found = selectors.attachment_for(
        user=acting.patient, attachment_id=attachment_id, for_proxy=acting.is_proxy
    )
    response = file_response(found.file)
    services.attachment_download_record(
        actor=acting.actor, attachment=found, patient_id=acting.patient.pk
    )
    return response


@sensitive_post_parameters("body")
@require_POST
@portal_page(ProxyScope.SEND_MESSAGES)
def reply(request: HttpRequest, thread_id: str) -> HttpResponse:
    acting = request_acting(request)
    user = acting.actor
    found = selectors.thread_for(
        user=acting.patient, thread_id=thread_id, for_proxy=acting.is_proxy
    )

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
