"""The fault battery's work inside the deployment, run with its environment file as an
operator's command is (``deploy/portal_env.py python tests/deploy/soak_inside.py ...``):

- ``seed PATIENTS CLINICIANS CLERKS REQUESTS``: the people of the run, each with a password
  and a confirmed authenticator app (its key is printed, as the enrollment page shows it),
  staff with the workforce policy acknowledged, every patient on every clinician's care
  team, and verified record requests in the clerk's queue. Prints JSON.
- ``bulk CLINICIAN COUNT``: a clinician's bulk send of COUNT messages. Prints JSON.
- ``facts``: what the database says at the end (notices by state and reason, audit events
  by request and action, stored files without a row). Prints JSON.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PASSWORD = "a long and unusual passphrase 42"
LOAD_AGENT = "soak-battery/1"  # soak_load.Browser's User-Agent
# Distinctive names, so the log scan cannot miss them (and no real person's).
FIRST = ["Ottoline", "Bartholomew", "Zenobia", "Leopoldine", "Cassius", "Philippa", "Ignatius"]
LAST = ["Wraxall", "Pennyfeather", "Quillfeather", "Marchbanks", "Thistlewood", "Ormerod"]


def _name(index: int) -> str:
    return f"{FIRST[index % len(FIRST)]} {LAST[(index // len(FIRST)) % len(LAST)]}-{index:03d}"


def seed(patients: int, clinicians: int, clerks: int, requests: int) -> dict[str, object]:
    import django

    django.setup()
    from django.utils import timezone

    from accounts.models import (
        AuthenticatorApp,
        CareTeamMember,
        IdentityMethod,
        PatientProfile,
        Role,
        User,
    )
    from audit.context import system_actor
    from compliance import services as compliance_services
    from compliance.models import PolicyKind
    from compliance.selectors import policies_pending_for
    from consent.models import RecordCategory
    from records import services as records_services
    from records.models import ArrivedBy, DeliverTo, VerificationMethod

    people: list[dict[str, object]] = []

    def person(email: str, name: str, role: str, **extra: object) -> User:
        user = User.objects.create_user(
            email=email,
            password=PASSWORD,
            full_name=name,
            role=role,
            email_verified_at=timezone.now(),
            **extra,
        )
        app = AuthenticatorApp.objects.create(user=user, name="soak", confirmed=True)
        people.append({"email": email, "name": name, "role": role, "key": app.key, "id": user.pk})
        return user

    with system_actor("soak:seed"):
        officer = person("officer@clinic.test", "Soak Officer", Role.PRIVACY_OFFICER)
        compliance_services.policy_publish(
            actor=officer,
            kind=PolicyKind.PRIVACY_SECURITY,
            title="Privacy and security policy",
            text="The workforce policy of the soak run.",
        )
        staff = [officer]
        staff += [
            person(f"clinician{i}@clinic.test", _name(500 + i), Role.CLINICIAN)
            for i in range(clinicians)
        ]
        clerk_users = [
            person(f"clerk{i}@clinic.test", _name(700 + i), Role.RECORDS_CLERK)
            for i in range(clerks)
        ]
        staff += clerk_users
        for member in staff:
            for document in policies_pending_for(member):
                compliance_services.policy_acknowledge(actor=member, document=document)
        patient_users = []
        for i in range(patients):
            name = _name(i)
            user = person(f"patient{i}@mail.test", name, Role.PATIENT)
            mrn = f"MRN-SOAK-{i:04d}"
            PatientProfile.objects.create(
                user=user,
                legal_name=name,
                date_of_birth=date(1970 + i % 40, 1 + i % 12, 1 + i % 28),
                mrn=mrn,
                identity_verified_by=officer,
                identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
                identity_verified_at=timezone.now(),
            )
            people[-1]["mrn"] = mrn
            patient_users.append(user)
            for clinician in staff[1 : 1 + clinicians]:
                CareTeamMember.objects.create(patient=user, staff=clinician, added_by=officer)
        for i in range(requests):
            patient = patient_users[i % len(patient_users)]
            request = records_services.request_receive(
                actor=clerk_users[0],
                patient=patient,
                spec=records_services.RequestSpec(
                    categories=[RecordCategory.LAB_RESULTS], deliver_to=DeliverTo.PORTAL
                ),
                arrived_by=ArrivedBy.LETTER,
            )
            records_services.request_verify(
                actor=clerk_users[0], request=request, method=VerificationMethod.PHOTO_ID
            )
    return {"people": people, "password": PASSWORD}


def bulk(clinician_email: str, count: int) -> dict[str, object]:
    """A clinician's bulk send (results-ready notes) to every patient on their team, round
    and round: one task per 100 notices, what a worker is killed in the middle of."""
    import uuid

    import django

    django.setup()
    from accounts.models import User
    from audit.context import system_actor
    from messaging.services import BulkItem, messages_send_bulk

    clinician = User.objects.get(email=clinician_email)
    patients = list(User.objects.filter(care_team__staff=clinician).order_by("pk"))
    token = uuid.uuid4().hex[:8]
    subject = f"Flu clinic reminder {token}"
    with system_actor("soak:bulk"):
        sent = messages_send_bulk(
            actor=clinician,
            items=[
                BulkItem(
                    send_key=uuid.uuid4(),
                    patient=patients[i % len(patients)],
                    subject=subject,
                    body="The flu clinic is open on weekdays.",
                    category="administrative",
                )
                for i in range(count)
            ],
        )
    return {"sent": len(sent), "subject": subject}


def facts() -> dict[str, object]:
    import django

    django.setup()
    from django.db.models import Count

    from audit.models import AuditEvent
    from encryption.files import _listdir, files_storage
    from encryption.models import EncryptedFile
    from messaging.models import Delivery, Message
    from records.models import RecordRequest

    deliveries = [
        {
            "id": str(d["id"]),
            "message": str(d["message_id"]),
            "state": d["state"],
            "failure": d["failure"],
            "channel": d["channel"],
            "patient": d["message__thread__patient_id"],
            "replaced": d["replaced_by_id"] is not None,
        }
        for d in Delivery.objects.values(
            "id",
            "message_id",
            "state",
            "failure",
            "channel",
            "message__thread__patient_id",
            "replaced_by_id",
        )
    ]
    # Messages to patients (a patient's reply notifies nobody by e-mail), with their
    # notices: the invariant wants one each.
    to_patients = [
        str(pk)
        for pk in Message.objects.filter(from_patient=False)
        .exclude(state="draft")
        .values_list("pk", flat=True)
    ]
    by_request: dict[str, list[str]] = {}
    # The load's requests (its User-Agent): not the seeding's or the bulk send's events.
    load = AuditEvent.objects.filter(user_agent=LOAD_AGENT).exclude(request_id="")
    for request_id, action in load.values_list("request_id", "action"):
        by_request.setdefault(request_id, []).append(action)
    storage = files_storage()
    stored = [
        f"{folder}/{name}"
        for folder in _listdir(storage, "")[0]
        for name in _listdir(storage, folder)[1]
    ]
    known = set(
        EncryptedFile.objects.filter(storage_name__in=stored).values_list("storage_name", flat=True)
    )
    return {
        "deliveries": deliveries,
        "messages_to_patients": to_patients,
        "audit_total": AuditEvent.objects.count(),
        "audit_by_action": dict(
            AuditEvent.objects.values_list("action").annotate(n=Count("id")).order_by()
        ),
        "audit_by_request": by_request,
        "stored_files": len(stored),
        "orphans": [name for name in stored if name not in known],
        "file_rows": EncryptedFile.objects.count(),
        # The clerks' package builds: state and, for a failed one, its reason code.
        "builds": [
            {"state": state, "failure": failure}
            for state, failure in RecordRequest.objects.exclude(build_state="none").values_list(
                "build_state", "build_failure"
            )
        ],
    }


def main(argv: list[str]) -> None:
    if argv[1] == "seed":
        print(json.dumps(seed(*(int(a) for a in argv[2:6]))))
    elif argv[1] == "bulk":
        print(json.dumps(bulk(argv[2], int(argv[3]))))
    elif argv[1] == "facts":
        print(json.dumps(facts()))
    else:
        raise SystemExit(f"unknown command {argv[1]!r}")


if __name__ == "__main__":
    main(sys.argv)
