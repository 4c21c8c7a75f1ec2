"""Record requests made through the real services, as the portal or the records desk makes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from consent.models import RecordCategory
from records import services
from records.models import ArrivedBy, DeliverTo, RecordRequest, VerificationMethod


def spec(**overrides: Any) -> services.RequestSpec:
    values: dict[str, Any] = {
        "categories": [RecordCategory.LAB_RESULTS, RecordCategory.VISIT_NOTES],
        "deliver_to": DeliverTo.PORTAL,
        "details": "Everything from my knee surgery",
    }
    values.update(overrides)
    return services.RequestSpec(**values)


def request_received(
    *, patient: Any, received_at: datetime | None = None, **overrides: Any
) -> RecordRequest:
    return services.request_receive(
        actor=patient,
        patient=patient,
        spec=spec(**overrides),
        arrived_by=ArrivedBy.PORTAL,
        received_at=received_at,
    )


def request_verified(*, patient: Any, clerk: Any, **overrides: Any) -> RecordRequest:
    request = request_received(patient=patient, **overrides)
    return services.request_verify(
        actor=clerk, request=request, method=VerificationMethod.PORTAL_MFA
    )
