"""The evidence pack: one ZIP for a period, for an auditor.

- ``report.pdf``: every figure, the checkpoints' summary and the list of the other
  files with their SHA-256, rendered by WeasyPrint and signed (PAdES) with the
  organisation's certificate as record packages are (``records.signing``). The
  signature covers the digests, so it vouches for every file of the ZIP.
- ``figures/<section>.json`` and ``.csv`` (and ``<section>-<table>.csv``): the same
  numbers as the dashboard, from the same functions (``evidence.figures``).
- ``audit/checkpoints.json``: the signed checkpoints of the period, each with its
  anchor outside the database (``evidence.hooks.checkpoint_anchors``).
- ``traceability.toml``: the requirement → control → test matrix, when the
  installation has one (``compliance/traceability.toml``).

Built in the request, not in a task: the figures are a fixed number of aggregate
queries, the file-store check is capped (``figures.FILE_CHECK_LIMIT``), the checkpoints
are streamed from a server-side cursor into the archive, and the archive is spooled to
a temporary file past ``SPOOL_BYTES``. The period is at most a quarter
(``figures.MAX_PERIOD_DAYS``); measured here, 260,000 checkpoints (30 days of one every
10 s, the sealer's busiest) add about 11 s, so a quarter at worst (about 35 s) stays inside the
web timeout (120 s). A longer period would need a task and a progress page.
Nothing in the pack is health information: counts, dates, key ids, event numbers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import User
from audit.models import AuditCheckpoint
from audit.signing import public_key_pem, public_keys
from evidence import figures, hooks
from evidence.figures import Period, Section, Table
from records.signing import package_sign
from support.printing import pdf_from_html

SIGNATURE_REASON = "Evidence pack for a compliance audit (45 CFR 164.316(b))"
SIGNATURE_FIELD = "EvidencePackSignature"
REPORT_TEMPLATE = "evidence/report.html"
SPOOL_BYTES = 32 * 1024 * 1024
TRACEABILITY = Path("compliance") / "traceability.toml"
_CHUNK = 2000


def traceability_path() -> Path:
    return Path(settings.BASE_DIR) / TRACEABILITY


@dataclass
class Entry:
    name: str
    sha256: str
    size: int


@dataclass
class CheckpointSummary:
    count: int = 0
    first_through: int | None = None
    last_through: int | None = None
    anchored: int = 0


@dataclass
class Pack:
    file: IO[bytes]
    filename: str
    zip_sha256: str
    report_sha256: str
    entries: list[Entry] = field(default_factory=list)


def pack_build(*, user: User, period: Period, now: datetime | None = None) -> Pack:
    """The whole pack for ``period``, in a rewound temporary file."""
    now = now or timezone.now()
    sections = figures.sections(user=user, period=period, now=now, check_files=True)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned open
    entries: list[Entry] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in sections:
            document = section.as_json(period=period, as_of=now)
            _add(archive, entries, f"figures/{section.key}.json", _json_bytes(document))
            _add(archive, entries, f"figures/{section.key}.csv", _figures_csv(section))
            for table in section.tables:
                _add(archive, entries, f"figures/{section.key}-{table.key}.csv", _table_csv(table))
        checkpoints = CheckpointSummary()
        _add_stream(
            archive, entries, "audit/checkpoints.json", _checkpoint_chunks(period, checkpoints)
        )
        # The keys that check the checkpoints' Ed25519 signatures (``audit_verify
        # --public-key``, ``--export``): the current one and any retired by a rotation.
        keys = "".join(public_key_pem(key) for key in public_keys().values())
        _add(archive, entries, "audit/public-keys.pem", keys.encode())
        matrix = traceability_path()
        has_matrix = matrix.is_file()
        if has_matrix:
            _add(archive, entries, "traceability.toml", matrix.read_bytes())
        report = report_pdf(
            user=user,
            period=period,
            now=now,
            sections=sections,
            checkpoints=checkpoints,
            entries=entries,
            has_matrix=has_matrix,
        )
        _add(archive, entries, "report.pdf", report)
    out.seek(0)
    digest = hashlib.sha256()
    while chunk := out.read(1024 * 1024):
        digest.update(chunk)
    out.seek(0)
    return Pack(
        file=out,
        filename=f"evidence-pack-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}.zip",
        zip_sha256=digest.hexdigest(),
        report_sha256=entries[-1].sha256,
        entries=entries,
    )


def report_pdf(
    *,
    user: User,
    period: Period,
    now: datetime,
    sections: list[Section],
    checkpoints: CheckpointSummary,
    entries: list[Entry],
    has_matrix: bool,
) -> bytes:
    """The signed report. Staff documents are in English whatever the viewer's language."""
    with translation.override("en"):
        html = render_to_string(
            REPORT_TEMPLATE,
            {
                "organisation": settings.ORGANISATION_NAME,
                "page_size": settings.RECORDS_PAGE_SIZE,
                "period": period,
                "generated_at": now,
                "generated_by": user.audit_label(),
                "sections": sections,
                "checkpoints": checkpoints,
                "entries": entries,
                "has_matrix": has_matrix,
                "matrix_path": str(TRACEABILITY),
                "file_check_limit": figures.FILE_CHECK_LIMIT,
            },
        )
    return package_sign(pdf_from_html(html), reason=SIGNATURE_REASON, field_name=SIGNATURE_FIELD)


def _add(archive: zipfile.ZipFile, entries: list[Entry], name: str, data: bytes) -> None:
    archive.writestr(name, data)
    entries.append(Entry(name, hashlib.sha256(data).hexdigest(), len(data)))


def _add_stream(
    archive: zipfile.ZipFile, entries: list[Entry], name: str, chunks: Iterator[bytes]
) -> None:
    digest, size = hashlib.sha256(), 0
    with archive.open(name, "w", force_zip64=True) as member:
        for chunk in chunks:
            member.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    entries.append(Entry(name, digest.hexdigest(), size))


def _json_bytes(document: Any) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def _checkpoint_chunks(period: Period, summary: CheckpointSummary) -> Iterator[bytes]:
    """``{"period": ..., "checkpoints": [...]}``, one checkpoint per line, streamed in
    batches (the anchors are looked up a batch at a time)."""
    head = {"period": period.as_dict(), "checkpoints": "@"}
    opening, closing = json.dumps(head, sort_keys=True).split('"@"')
    yield (opening + "[").encode()
    rows = (
        AuditCheckpoint.objects.filter(period.within("created_at"))
        .order_by("through_event_id")
        .iterator(chunk_size=_CHUNK)
    )
    separator = "\n"
    while batch := list(itertools.islice(rows, _CHUNK)):
        anchors = hooks.checkpoint_anchors(batch)
        lines = []
        for checkpoint in batch:
            anchor = anchors.get(checkpoint.pk)
            lines.append(separator + json.dumps(_checkpoint_row(checkpoint, anchor)))
            separator = ",\n"
        summary.count += len(batch)
        summary.anchored += sum(1 for checkpoint in batch if anchors.get(checkpoint.pk))
        if summary.first_through is None:
            summary.first_through = batch[0].through_event_id
        summary.last_through = batch[-1].through_event_id
        yield "".join(lines).encode()
    yield ("\n]" + closing + "\n").encode()


def _checkpoint_row(checkpoint: AuditCheckpoint, anchor: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": checkpoint.pk,
        "through_event_id": checkpoint.through_event_id,
        "count": checkpoint.count,
        "head_hash": checkpoint.head_hash,
        "created_at": checkpoint.created_at.isoformat(),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "anchor": anchor,
    }


_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Key ids come from configuration: never let a spreadsheet run one as a formula."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return text.getvalue().encode()


def _figures_csv(section: Section) -> bytes:
    return _csv(
        ("figure", "label", "value"),
        [[figure.key, figure.label, figure.value] for figure in section.figures],
    )


def _table_csv(table: Table) -> bytes:
    return _csv(
        table.columns, [[row.get(column) for column in table.columns] for row in table.rows]
    )
