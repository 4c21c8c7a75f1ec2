"""What the shared form partials need to help a person fix a form: the error summary's
entries (each a link to its field) and the files a re-shown form lost.

A browser never re-fills a file input, so a form shown again after a refusal has lost
every file that came with the submission; the person is told which to choose again."""

from __future__ import annotations

from typing import Any

from django import forms, template

register = template.Library()


@register.simple_tag
def text_limit(field: forms.BoundField) -> int | None:
    """The character limit a counter shows: text typed into a box (not a password)."""
    widget = field.field.widget
    limit = getattr(field.field, "max_length", None)
    typed = isinstance(widget, forms.Textarea | forms.TextInput | forms.EmailInput | forms.URLInput)
    return limit if typed and limit else None


@register.simple_tag
def files_to_choose_again(field: forms.BoundField) -> list[str]:
    """The names of the files posted in ``field`` (user content: the template escapes them)."""
    form = field.form
    if not form.is_bound or not isinstance(field.field.widget, forms.FileInput):
        return []
    return [upload.name for upload in form.files.getlist(field.html_name) if upload.name]


@register.simple_tag
def error_summary(form: forms.BaseForm) -> list[dict[str, Any]]:
    """One entry per error: the form's own (no link), then each field's, linked to its
    input; then every file input whose files must be chosen again."""
    if not form.is_bound:
        return []
    entries: list[dict[str, Any]] = [{"error": error} for error in form.non_field_errors()]
    for field in form:
        target = "" if field.is_hidden else field.id_for_label
        entries += [{"error": e, "label": field.label, "id": target} for e in field.errors]
    for field in form:
        names = files_to_choose_again(field)
        if names:
            entries.append({"files": names, "label": field.label, "id": field.id_for_label})
    return entries
