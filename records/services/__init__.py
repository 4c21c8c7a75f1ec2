"""State changes for record requests: receive, verify, assign, extend, deny, build, fulfil.

Each function does the whole change with its audit event. The rules of 45 CFR 164.524
live here, each next to its section; a refusal raises ``RecordsError`` naming the rule
and is audited with its code. Split by sub-domain: ``intake`` (receipt to assignment),
``notices`` (extension and denial letters), ``fulfilment`` (documents, the package and
its delivery) and ``reads`` (views worth an audit row); every service is importable
from here.
"""

from records.services._common import PDF, file_bytes, refusals_audited
from records.services.fulfilment import (
    document_move,
    document_remove,
    document_rename,
    documents_add,
    package_build_queue,
    request_fulfil,
)
from records.services.intake import (
    RequestSpec,
    fee_estimate_give,
    request_assign,
    request_receive,
    request_verify,
    request_withdraw,
)
from records.services.notices import (
    request_deny,
    request_extend,
)
from records.services.reads import (
    alerts_mark_read,
    package_download_record,
    patient_list_record,
    queue_view_record,
    request_view_record,
)

__all__ = [
    "PDF",
    "RequestSpec",
    "alerts_mark_read",
    "document_move",
    "document_remove",
    "document_rename",
    "documents_add",
    "fee_estimate_give",
    "file_bytes",
    "package_build_queue",
    "package_download_record",
    "patient_list_record",
    "queue_view_record",
    "refusals_audited",
    "request_assign",
    "request_deny",
    "request_extend",
    "request_fulfil",
    "request_receive",
    "request_verify",
    "request_view_record",
    "request_withdraw",
]
