"""An authorization as a FHIR R4 ``Consent`` resource (JSON-ready dict).

What a consumer reads, and where:

* ``status``: "active" while it covers disclosures; "inactive" once expired, revoked or
  replaced by a corrected version (the correction is its own active resource).
* ``scope`` patient-privacy, ``category`` LOINC 64292-6 (release of information
  consent), ``policyRule`` v3-ActCode OPTIN: the patient opts in to a disclosure the
  Privacy Rule would otherwise not allow.
* ``patient`` and a patient ``performer`` by an opaque identifier only (no name, no
  MRN); a personal representative is a ``performer`` display with their authority.
* ``provision`` (permit): ``period`` from the signature to the end of coverage (the
  expiry date, or the revocation if earlier); an expiry *event* has no date, so it is
  the extension ``expiry-event``. ``actor``: the recipient (v3-ParticipationType
  IRCP) and the discloser (CST, custodian: v3 has no "discloser"; PRCP would mean a
  primary *recipient*). ``purpose``: v3 ActReason codes (map below) followed by our own
  purpose codes, so nothing is lost where v3 has no exact code. ``class``: record
  categories in our code system. ``dataPeriod``: the dates of the records covered.

Purposes to v3 ActReason:

    individual_request -> PATRQT  (patient requested)
    continuity_of_care -> TREAT   (treatment)
    insurance          -> HPAYMT  (healthcare payment)
    legal              -> HLEGAL  (legal)
    research           -> HRESCH  (healthcare research)
    employment, other  -> PATRQT  (no v3 code fits; every authorization is the
                                   patient's own direction, so "patient requested")
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from consent.models import Authorization, AuthorizationStatus, Purpose, RecordCategory, Source

V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"

PURPOSE_TO_ACT_REASON: dict[str, tuple[str, str]] = {
    Purpose.INDIVIDUAL_REQUEST: ("PATRQT", "patient requested"),
    Purpose.CONTINUITY_OF_CARE: ("TREAT", "treatment"),
    Purpose.INSURANCE: ("HPAYMT", "healthcare payment"),
    Purpose.LEGAL: ("HLEGAL", "legal"),
    Purpose.RESEARCH: ("HRESCH", "healthcare research"),
    Purpose.EMPLOYMENT: ("PATRQT", "patient requested"),
    Purpose.OTHER: ("PATRQT", "patient requested"),
}


def _base() -> str:
    return f"{settings.PORTAL_BASE_URL}/fhir"


def record_category_system() -> str:
    return f"{_base()}/CodeSystem/record-category"


def purpose_system() -> str:
    return f"{_base()}/CodeSystem/authorization-purpose"


def patient_identifier_system() -> str:
    return f"{_base()}/sid/patient"


def _extension_url(name: str) -> str:
    return f"{_base()}/StructureDefinition/{name}"


def _instant(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _day(value: date) -> str:
    return value.isoformat()


def _patient_reference(auth: Authorization) -> dict[str, Any]:
    return {
        "type": "Patient",
        "identifier": {"system": patient_identifier_system(), "value": str(auth.patient_id)},
    }


def _performer(auth: Authorization) -> dict[str, Any]:
    if auth.signed_by_representative:
        return {
            "type": "RelatedPerson",
            "display": f"{auth.signer_name} (personal representative: "
            f"{auth.representative_authority})",
        }
    return _patient_reference(auth)


def _source_attachment(auth: Authorization) -> dict[str, Any]:
    created = _instant(auth.signed_at)
    if auth.source == Source.PAPER and auth.scan is not None and auth.scan.is_erased:
        # Purged under the retention policy: the attachment says so and links nowhere.
        erased_on = auth.scan.data_key.destroyed_at
        return {
            "title": "Signed authorization (scan removed under the retention policy on "
            f"{erased_on:%Y-%m-%d})",
            "creation": created,
        }
    if auth.source == Source.PAPER and auth.scan is not None:
        return {
            "contentType": auth.scan.content_type,
            "title": "Signed authorization (scan)",
            "url": settings.PORTAL_BASE_URL
            + reverse("consent:scan", kwargs={"authorization_id": auth.pk}),
            "size": auth.scan.size,
            "creation": created,
        }
    return {
        "title": "Signed in the patient portal (typed name after a second factor)",
        "creation": created,
    }


def _period_end(auth: Authorization) -> datetime | None:
    ends = [
        moment
        for moment in (auth.expires_at, auth.expiry_event_at, auth.revoked_at)
        if moment is not None
    ]
    return min(ends) if ends else None


def _purposes(auth: Authorization) -> list[dict[str, str]]:
    codings: list[dict[str, str]] = []
    seen: set[str] = set()
    for purpose in auth.purposes:
        code, display = PURPOSE_TO_ACT_REASON[purpose]
        if code not in seen:
            seen.add(code)
            codings.append({"system": V3_ACT_REASON, "code": code, "display": display})
    for purpose in auth.purposes:
        codings.append(
            {"system": purpose_system(), "code": purpose, "display": str(Purpose(purpose).label)}
        )
    return codings


def _actors(auth: Authorization) -> list[dict[str, Any]]:
    recipient = ", ".join(
        part for part in (auth.recipient_name, auth.recipient_organization) if part
    )
    return [
        {
            "role": {
                "coding": [
                    {"system": V3_PARTICIPATION, "code": "IRCP", "display": "information recipient"}
                ]
            },
            "reference": {
                "display": recipient,
                "identifier": {
                    "system": "urn:ietf:rfc:3986",
                    "value": f"mailto:{auth.recipient_email}",
                },
            },
        },
        {
            "role": {
                "coding": [{"system": V3_PARTICIPATION, "code": "CST", "display": "custodian"}]
            },
            "reference": {"display": auth.discloser},
        },
    ]


def _extensions(auth: Authorization) -> list[dict[str, Any]]:
    extensions = [
        {"url": _extension_url("information-description"), "valueString": auth.description}
    ]
    if auth.expiry_event:
        extensions.append({"url": _extension_url("expiry-event"), "valueString": auth.expiry_event})
    if auth.purpose_detail:
        extensions.append(
            {"url": _extension_url("purpose-detail"), "valueString": auth.purpose_detail}
        )
    extensions.append(
        {"url": _extension_url("statements-version"), "valueString": auth.statements_version}
    )
    return extensions


def authorization_to_fhir(auth: Authorization, *, at: datetime | None = None) -> dict[str, Any]:
    """The FHIR R4 ``Consent`` for this version of the authorization, as of ``at``."""
    status = "active" if auth.status(at) == AuthorizationStatus.ACTIVE else "inactive"
    period: dict[str, str] = {"start": _instant(auth.signed_at)}
    end = _period_end(auth)
    if end is not None:
        period["end"] = _instant(end)
    provision: dict[str, Any] = {
        "type": "permit",
        "period": period,
        "actor": _actors(auth),
        "purpose": _purposes(auth),
        "class": [
            {
                "system": record_category_system(),
                "code": category,
                "display": str(RecordCategory(category).label),
            }
            for category in auth.categories
        ],
        "extension": _extensions(auth),
    }
    data_period = {}
    if auth.records_from is not None:
        data_period["start"] = _day(auth.records_from)
    if auth.records_to is not None:
        data_period["end"] = _day(auth.records_to)
    if data_period:
        provision["dataPeriod"] = data_period
    return {
        "resourceType": "Consent",
        "id": str(auth.pk),
        "meta": {"versionId": str(auth.version)},
        "identifier": [{"system": f"{_base()}/sid/authorization", "value": str(auth.lineage)}],
        "status": status,
        "scope": {
            "coding": [
                {"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": LOINC,
                        "code": "64292-6",
                        "display": "Release of information consent",
                    }
                ]
            }
        ],
        "patient": _patient_reference(auth),
        "dateTime": _instant(auth.signed_at),
        "performer": [_performer(auth)],
        "organization": [{"display": settings.ORGANISATION_NAME}],
        "sourceAttachment": _source_attachment(auth),
        "policyRule": {"coding": [{"system": V3_ACT_CODE, "code": "OPTIN", "display": "opt-in"}]},
        "provision": provision,
    }
