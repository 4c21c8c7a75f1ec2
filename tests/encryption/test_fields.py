"""Encrypted text and JSON fields on a model: lazy, bound to their row and field, erasable."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core import checks
from django.db import connection, models, transaction
from django.template import Context, Template
from django.test.utils import isolate_apps

from audit.models import AuditEvent
from encryption import crypto, services
from encryption.actions import EncryptionAction
from encryption.errors import DecryptionFailed, EncryptionError, Erased
from encryption.fields import EncryptedField, EncryptedTextField, Sealed
from encryption.models import DataKey
from tests.encryption.conftest import note_create, note_reload, stored
from tests.encryption.testapp.models import Note

pytestmark = pytest.mark.django_db


def copy_column(*, source: Note, target: Note, from_column: str, to_column: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE encryption_testapp_note SET {to_column} = "
            f"(SELECT {from_column} FROM encryption_testapp_note WHERE id = %s) WHERE id = %s",
            [source.pk, target.pk],
        )


class TestRoundTrip:
    def test_text_reads_back(self) -> None:
        note = note_create(subject="Lab results", body="Potassium 4.1 mmol/L")
        again = note_reload(note)
        assert (again.subject, again.body) == ("Lab results", "Potassium 4.1 mmol/L")

    def test_json_reads_back(self) -> None:
        note = note_create(answers={"smoker": False, "meds": ["a", "b"], "n": 3})
        assert note_reload(note).answers == {"smoker": False, "meds": ["a", "b"], "n": 3}

    def test_null_stays_null(self) -> None:
        note = note_create()
        assert note_reload(note).answers is None
        assert Note.objects.filter(answers__isnull=True).count() == 1

    def test_the_column_holds_no_plaintext(self) -> None:
        note = note_create(subject="Very private subject line")
        assert b"private" not in stored(note, "subject")

    def test_all_fields_of_an_object_share_its_one_data_key(self) -> None:
        note = note_create()
        assert note.data_key_id is not None
        assert services.object_dek(note_reload(note)) == services.object_dek(note)


class TestLazyDecryption:
    def test_a_list_that_does_not_show_content_decrypts_nothing(
        self, django_assert_num_queries: Any
    ) -> None:
        for i in range(5):
            note_create(label=f"n{i}")
        with django_assert_num_queries(1):  # decrypting would first have to load a data key
            notes = list(Note.objects.all())
            assert sorted(note.label for note in notes) == [f"n{i}" for i in range(5)]
        assert all(isinstance(note.__dict__["subject"], Sealed) for note in notes)

    def test_a_list_that_shows_subjects_needs_one_query_with_select_related(
        self, django_assert_num_queries: Any
    ) -> None:
        for i in range(5):
            note_create(subject=f"subject {i}")
        assert note_reload(Note.objects.first()).subject  # type: ignore[arg-type]  # warm caches
        with django_assert_num_queries(1):
            subjects = [note.subject for note in Note.objects.select_related("data_key")]
        assert sorted(subjects) == [f"subject {i}" for i in range(5)]

    def test_a_deferred_field_loads_and_decrypts_on_use(self) -> None:
        note = note_create(body="deferred body")
        assert Note.objects.defer("body").get(pk=note.pk).body == "deferred body"

    def test_saving_without_reading_writes_the_same_ciphertext(self) -> None:
        note = note_create(subject="unchanged")
        before = stored(note, "subject")
        again = note_reload(note)
        again.label = "relabelled"
        again.save()
        assert stored(note, "subject") == before

    def test_a_json_value_changed_in_place_is_saved(self) -> None:
        note = note_create(answers={"a": 1})
        again = note_reload(note)
        again.answers["b"] = 2
        again.save()
        assert note_reload(note).answers == {"a": 1, "b": 2}


class TestBinding:
    def test_ciphertext_copied_to_another_row_fails(self) -> None:
        first, second = note_create(subject="first's"), note_create(subject="second's")
        copy_column(source=first, target=second, from_column="subject", to_column="subject")
        with pytest.raises(DecryptionFailed, match="another row or field"):
            _ = note_reload(second).subject

    def test_the_same_key_under_another_pk_fails(self) -> None:
        # Same data key, same field, only the pk differs: the associated data alone must
        # make it fail (the copy tests above also change the data key).
        note = note_reload(note_create(subject="bound to its row"))
        sealed = note.__dict__["subject"]

        def twin(pk: Any) -> Note:
            other = Note(id=pk, data_key_id=note.data_key_id)
            other.__dict__["subject"] = Sealed(sealed.blob, (str(pk), note.data_key_id))
            return other

        assert twin(note.pk).subject == "bound to its row"
        with pytest.raises(DecryptionFailed, match="another row or field"):
            _ = twin(uuid.uuid4()).subject

    def test_ciphertext_copied_to_another_field_fails(self) -> None:
        note = note_create(subject="the subject", body="the body")
        copy_column(source=note, target=note, from_column="subject", to_column="body")
        with pytest.raises(DecryptionFailed):
            _ = note_reload(note).body

    def test_a_bit_flip_in_the_column_fails(self) -> None:
        note = note_create(subject="intact")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE encryption_testapp_note "
                "SET subject = set_byte(subject, 20, get_byte(subject, 20) # 1) WHERE id = %s",
                [note.pk],
            )
        with pytest.raises(DecryptionFailed):
            _ = note_reload(note).subject

    def test_a_copied_object_is_re_encrypted_under_its_own_key(self) -> None:
        original = note_reload(note_create(subject="copied"))
        copy = note_reload(original)
        copy.pk, copy.data_key, copy._state.adding = uuid.uuid4(), None, True
        copy.save()
        assert copy.data_key_id != original.data_key_id
        assert note_reload(copy).subject == "copied"


class TestMisuseIsRefused:
    def test_queryset_update_is_refused(self) -> None:
        note_create()
        with pytest.raises(EncryptionError, match="update"):
            Note.objects.update(subject="not like this")

    def test_lookups_on_the_value_are_refused(self) -> None:
        with pytest.raises(EncryptionError, match="lookups"):
            list(Note.objects.filter(subject="guess"))

    def test_serialisation_is_refused(self) -> None:
        note = note_create()
        with pytest.raises(EncryptionError, match="not serialised"):
            Note._meta.get_field("subject").value_to_string(note)

    def test_text_field_refuses_other_types(self) -> None:
        with pytest.raises(EncryptionError, match="holds text"):
            note_create(subject=42)  # type: ignore[arg-type]

    @isolate_apps("tests.encryption.testapp")
    def test_a_model_that_is_not_an_encrypted_model_fails_the_check(self) -> None:
        class Plain(models.Model):  # noqa: DJ008 - exists only to be checked
            secret = EncryptedTextField()

            class Meta:
                app_label = "encryption_testapp"

        errors = Plain._meta.get_field("secret").check()
        assert [error.id for error in errors if isinstance(error, checks.Error)] == [
            "encryption.E001"
        ]


class TestErasure:
    def test_reads_after_erasure_say_erased(self) -> None:
        note = note_create(subject="to be erased")
        services.object_erase(obj=note)
        with pytest.raises(Erased, match="erased"):
            _ = note_reload(note).subject

    def test_the_same_instance_forgets_what_it_decrypted(self) -> None:
        note = note_reload(note_create(subject="seen before"))
        assert note.subject == "seen before"
        services.object_erase(obj=note)
        with pytest.raises(Erased):
            _ = note.subject

    def test_an_erased_object_says_so_in_lists(self) -> None:
        note = note_create()
        services.object_erase(obj=note)
        assert Note.objects.select_related("data_key").get(pk=note.pk).is_erased

    def test_a_template_renders_an_erased_value_as_empty(self) -> None:
        note = note_create(subject="gone")
        services.object_erase(obj=note)
        html = Template("[{{ note.subject }}]").render(Context({"note": note_reload(note)}))
        assert html == "[]"

    def test_erasure_is_audited_without_content(self) -> None:
        note = note_create(subject="Diagnosis: something private")
        services.object_erase(obj=note)
        event = AuditEvent.objects.get(action=EncryptionAction.DATA_ERASED)
        assert (event.target_type, event.target_id) == ("encryption_testapp.note", str(note.pk))
        assert event.details == {"data_key": str(note.data_key_id), "already_erased": False}

    def test_erasing_twice_is_harmless(self) -> None:
        note = note_create()
        assert services.object_erase(obj=note) is True
        assert services.object_erase(obj=note) is False

    def test_an_erased_object_cannot_take_new_content(self) -> None:
        note = note_create()
        services.object_erase(obj=note)
        again = note_reload(note)
        again.subject = "new"
        with pytest.raises(Erased):
            again.save()


class TestDeletion:
    """Deleting a row shreds it: the data key is destroyed with the row, in its transaction."""

    def test_deleting_an_object_destroys_its_data_key(self) -> None:
        note = note_create(subject="deleted")
        data_key_id = note.data_key_id
        Note.objects.get(pk=note.pk).delete()
        data_key = DataKey.objects.get(pk=data_key_id)
        assert (data_key.wrapped, data_key.kek_id) == (None, None)
        assert data_key.destroyed_at is not None
        event = AuditEvent.objects.get(action=EncryptionAction.DATA_ERASED)
        assert (event.target_type, event.target_id) == ("encryption_testapp.note", str(note.pk))
        assert event.details == {
            "data_key": str(data_key_id),
            "already_erased": False,
            "deleted": True,
        }

    def test_a_queryset_delete_destroys_every_data_key(self) -> None:
        notes = [note_create(label="old") for _ in range(3)]
        keep = note_create(label="new")
        assert Note.objects.filter(label="old").delete()[0] == 3
        destroyed = DataKey.objects.filter(destroyed_at__isnull=False)
        assert set(destroyed.values_list("pk", flat=True)) == {n.data_key_id for n in notes}
        assert note_reload(keep).subject == "subject"

    def test_deleting_an_erased_object_is_harmless(self) -> None:
        note = note_create()
        services.object_erase(obj=note)
        note.delete()
        events = AuditEvent.objects.filter(action=EncryptionAction.DATA_ERASED)
        assert sorted(e.details["already_erased"] for e in events) == [False, True]

    def test_a_rolled_back_delete_keeps_the_data_key(self) -> None:
        class Undo(Exception):
            pass

        note = note_create(subject="still here")
        with pytest.raises(Undo), transaction.atomic():
            Note.objects.get(pk=note.pk).delete()
            raise Undo
        assert note_reload(note).subject == "still here"


class TestRenames:
    """The associated data names the model and field; explicit names survive a rename."""

    def test_renaming_a_field_breaks_decryption_unless_its_old_name_is_pinned(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        note = note_create(body="written as body")
        field = Note._meta.get_field("body")
        assert isinstance(field, EncryptedField)
        monkeypatch.setattr(field, "name", "text")  # what a rename changes
        with pytest.raises(DecryptionFailed):
            _ = note_reload(note).body
        monkeypatch.setattr(field, "aad_name", "body")
        assert note_reload(note).body == "written as body"

    def test_renaming_a_model_breaks_decryption_unless_its_old_label_is_pinned(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        note = note_create(subject="written by the note model")
        monkeypatch.setattr(Note._meta, "model_name", "record")  # what a rename changes
        assert Note._meta.label_lower == "encryption_testapp.record"
        with pytest.raises(DecryptionFailed):
            _ = note_reload(note).subject
        monkeypatch.setattr(Note, "encryption_label", "encryption_testapp.note")
        assert note_reload(note).subject == "written by the note model"

    def test_a_pinned_name_is_what_the_associated_data_holds(self) -> None:
        field = EncryptedTextField(aad_name="old_name")
        field.set_attributes_from_name("new_name")
        field.model = Note
        assert field._owner("pk") == ("encryption_testapp.note", "pk", "old_name")
        assert field.deconstruct()[3]["aad_name"] == "old_name"
        blob = crypto.seal(b"k" * 32, b"v", field._owner("pk"))
        assert crypto.open_sealed(b"k" * 32, blob, ("encryption_testapp.note", "pk", "old_name"))
