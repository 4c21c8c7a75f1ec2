"""The error summary's entries (core/templatetags/form_help.py) for any form."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils.datastructures import MultiValueDict

from core.templatetags.form_help import error_summary, files_to_choose_again, text_limit


class Sample(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label="Name", max_length=5)
    secret = forms.CharField(label="Secret", max_length=5, widget=forms.PasswordInput)
    scan = forms.FileField(label="Scan", required=False)

    def clean(self) -> dict[str, object]:
        raise forms.ValidationError("Not this time.")


def test_an_unbound_form_has_no_entries() -> None:
    assert error_summary(Sample()) == []


def test_field_errors_link_to_their_input_and_the_forms_own_do_not() -> None:
    entries = error_summary(Sample({"name": "toolong", "secret": "x"}))
    assert entries[0] == {"error": "Not this time."}
    assert {"error": "This field is required.", "label": "Token", "id": ""} in entries
    assert any(e.get("id") == "id_name" and "at most 5" in e["error"] for e in entries)


def test_posted_files_are_named_to_choose_again() -> None:
    upload: UploadedFile = SimpleUploadedFile("a<b>.pdf", b"%PDF")
    files = MultiValueDict({"scan": [upload]})
    form = Sample({"name": "x", "secret": "x", "token": "t"}, files)
    assert files_to_choose_again(form["scan"]) == ["a<b>.pdf"]
    assert {"files": ["a<b>.pdf"], "label": "Scan", "id": "id_scan"} in error_summary(form)
    assert files_to_choose_again(form["name"]) == []


def test_a_counter_is_shown_for_typed_text_but_not_passwords() -> None:
    form = Sample()
    assert text_limit(form["name"]) == 5
    assert text_limit(form["secret"]) is None
    assert text_limit(form["token"]) is None
