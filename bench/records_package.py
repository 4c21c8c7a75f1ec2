"""Record package benchmark (issue 8): build and sign a 300-page package, against pypdf alone.

Run by ``make bench`` (or ``.venv/bin/python bench/records_package.py``); not a test.
No database. ``BENCH_RECORDS_FILES`` (default 30) PDFs of ``BENCH_RECORDS_PAGES``
(default 10) pages each are made once with WeasyPrint, each page a realistic clinical
note (headings, a table of results, paragraphs), each file with its own embedded fonts,
as uploaded files have; they are synthetic, kept under ``var/bench/`` and reused by
later runs. Then, each in a fresh child process:

* ``merge``: the same files merged with pypdf alone (``PdfWriter.append``, then
  ``write``): the floor of any merge in Python;
* ``build``: ``records.package.package_build`` (cover letter and index by WeasyPrint,
  the merge, bookmarks, clean-up of old form fields);
* ``build+sign``: the same, then ``records.signing.package_sign`` (PAdES, RSA-3072),
  as the Celery task runs it. The signer is loaded before timing (once per process).

For each: seconds (best of ``BENCH_RECORDS_ROUNDS``, default 2), the ratio merge/ours
(target >= 0.33: the signed package costs at most three bare merges), and peak memory:
the growth of the process's resident set (``VmHWM`` after resetting it, as in
``encryption_bench``) and, in a separate traced run, tracemalloc's Python-heap peak
(target: at most twice the bare merge's; pypdf keeps every source's parsed objects
until the writer is written, by design, so neither can be far below the merge's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import memory_baseline, peak_mib  # noqa: E402

MiB = 1024 * 1024
FILES = int(os.environ.get("BENCH_RECORDS_FILES", "30"))
PAGES = int(os.environ.get("BENCH_RECORDS_PAGES", "10"))
ROUNDS = int(os.environ.get("BENCH_RECORDS_ROUNDS", "2"))
TARGET_RATIO, TARGET_HEAP_X = 0.33, 2.0
SOURCES = ROOT / "var" / "bench" / f"records-sources-{FILES}x{PAGES}"

NOTE = """
<section style="break-after: page">
<h2>{title} — page {page} of {pages}</h2>
<p><b>Encounter:</b> outpatient follow-up, internal medicine. <b>Note {number}.</b></p>
<p>Patient seen for review of hypertension and type 2 diabetes. Reports good adherence to
metformin 1000 mg twice daily and lisinopril 20 mg daily; occasional morning headaches, no
chest pain, dyspnoea or claudication. Home blood pressure log averages 138/86. Diet reviewed
with the dietitian last month; walking 30 minutes five days a week.</p>
<table style="width:100%; border-collapse: collapse" border="1">
<tr><th>Test</th><th>Result</th><th>Reference</th><th>Flag</th></tr>
<tr><td>HbA1c</td><td>{a1c}%</td><td>&lt; 7.0%</td><td>{flag}</td></tr>
<tr><td>LDL cholesterol</td><td>{ldl} mg/dL</td><td>&lt; 100 mg/dL</td><td></td></tr>
<tr><td>eGFR</td><td>{egfr} mL/min/1.73m²</td><td>&gt; 60</td><td></td></tr>
<tr><td>Potassium</td><td>4.{k} mmol/L</td><td>3.5&ndash;5.1</td><td></td></tr>
</table>
<p><b>Assessment and plan.</b> Blood pressure above target: increase lisinopril to 40 mg
daily, repeat basic metabolic panel in two weeks. Glycaemic control acceptable; continue
metformin. Statin therapy discussed; patient agrees to start atorvastatin 20 mg nightly.
Foot examination normal; retinal screening due in March. Return in three months, sooner
if symptoms change. Time spent: 25 minutes, more than half in counselling.</p>
<p style="font-size: 9pt">Electronically signed by Amara Okafor, MD, on {date}. This note
was generated from the clinic's electronic health record and printed for release.</p>
</section>
"""


def _source_make(directory: Path, number: int) -> Path:
    from weasyprint import HTML

    body = "".join(
        NOTE.format(
            title=f"Clinic note {number + 1:02}",
            page=page + 1,
            pages=PAGES,
            number=number * PAGES + page,
            a1c=6 + (number + page) % 3,
            flag="H" if (number + page) % 3 == 2 else "",
            ldl=90 + (number * 7 + page) % 60,
            egfr=55 + (number + page * 3) % 40,
            k=(number + page) % 10,
            date=f"2024-{1 + number % 12:02}-{1 + page:02}",
        )
        for page in range(PAGES)
    )
    path = directory / f"note-{number:02}.pdf"
    path.write_bytes(HTML(string=f"<html><body>{body}</body></html>").write_pdf())
    return path


def _sources_make(directory: Path) -> list[Path]:
    """The uploads, made on every core, once: later runs reuse them."""
    import logging
    from concurrent.futures import ProcessPoolExecutor

    directory.mkdir(parents=True, exist_ok=True)
    existing = sorted(directory.glob("note-*.pdf"))
    if len(existing) == FILES:
        return existing
    logging.disable(logging.WARNING)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(_source_make, [directory] * FILES, range(FILES)))


def measure(mode: str, directory: str, traced: bool) -> dict[str, float]:
    """In a child process: one run of ``mode`` over the files in ``directory``."""
    import io
    from datetime import date

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)  # WeasyPrint's and fontTools' progress lines
    from pypdf import PdfReader, PdfWriter

    from records.package import Cover, SourceDocument, package_build
    from records.signing import _signer_get, package_sign

    paths = sorted(Path(directory).glob("note-*.pdf"))
    sources = [SourceDocument(p.name, "application/pdf", p.read_bytes()) for p in paths]
    cover = Cover(
        organisation="Riverside Community Health",
        patient_name="Bench Patient",
        mrn="RCH-000001",
        received_on=date(2025, 1, 2),
        prepared_on=date(2025, 1, 20),
        prepared_for="Bench Patient",
    )
    if mode == "build+sign":
        _signer_get()  # loaded once per process, before timing
    # Warm WeasyPrint (fonts, CSS) outside timing in every mode but the bare merge.
    if mode != "merge":
        package_build(cover=cover, documents=sources[:1])
    if traced:
        tracemalloc.start()
    before = memory_baseline()
    start = time.perf_counter()
    if mode == "merge":
        writer = PdfWriter()
        for source in sources:
            writer.append(PdfReader(io.BytesIO(source.data)))
        out = io.BytesIO()
        writer.write(out)
        result, pages = out.getvalue(), len(writer.pages)
        del writer, out
    else:
        built = package_build(cover=cover, documents=sources)
        result, pages = built.pdf, built.pages
        if mode == "build+sign":
            result = package_sign(result)
        del built
    seconds = time.perf_counter() - start
    growth = peak_mib() - before
    heap = tracemalloc.get_traced_memory()[1] / MiB if traced else 0.0
    return {
        "seconds": seconds,
        "growth_mib": growth,
        "heap_mib": heap,
        "pages": pages,
        "in_mib": sum(len(s.data) for s in sources) / MiB,
        "out_mib": len(result) / MiB,
    }


def _child(mode: str, directory: str, *, traced: bool = False) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, directory, "1" if traced else "0"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _signing_identity(directory: Path) -> None:
    """A throwaway RSA-3072 certificate for the run, configured as production would be."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from records.signing import self_signed_certificate

    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    certificate = self_signed_certificate(key=key, common_name="Riverside Community Health")
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    os.environ["RECORDS_SIGNING_CERT_FILE"] = str(directory / "cert.pem")
    os.environ["RECORDS_SIGNING_KEY_FILE"] = str(directory / "key.pem")
    os.environ.pop("RECORDS_SIGNING_KEY_PASSWORD", None)


def main() -> int:
    os.environ.setdefault("APP_MODE", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    started = time.perf_counter()
    reused = len(list(SOURCES.glob("note-*.pdf"))) == FILES
    _sources_make(SOURCES)
    how = "reused from" if reused else f"made in {time.perf_counter() - started:.1f} s into"
    print(f"{FILES} PDFs x {PAGES} pages {how} {SOURCES.relative_to(ROOT)}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-records-") as identity:
        _signing_identity(Path(identity))
        for mode in ("merge", "build", "build+sign"):
            runs = [_child(mode, str(SOURCES)) for _ in range(ROUNDS)]
            best = min(runs, key=lambda r: r["seconds"])
            best["heap_mib"] = _child(mode, str(SOURCES), traced=True)["heap_mib"]
            best["growth_mib"] = max(r["growth_mib"] for r in runs)
            results[mode] = best
    merge = results["merge"]
    print(
        f"input: {FILES} files, {merge['pages']:.0f} pages, {merge['in_mib']:.1f} MiB; "
        f"best of {ROUNDS} runs, each in a fresh process"
    )
    print(
        f"{'measurement':<14}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'ratio':>8}"
        f"{'out MiB':>9}{'RSS +MiB':>10}{'heap MiB':>10}"
    )
    for mode, result in results.items():
        shown = "" if mode == "merge" else f"{merge['seconds'] / result['seconds']:.2f}"
        print(
            f"{mode:<14}{result['pages']:>7.0f}{result['seconds']:>9.2f}"
            f"{result['pages'] / result['seconds']:>9.0f}{shown:>8}{result['out_mib']:>9.1f}"
            f"{result['growth_mib']:>10.1f}{result['heap_mib']:>10.1f}"
        )
    ours = results["build+sign"]
    ratio = merge["seconds"] / ours["seconds"]
    heap_x = ours["heap_mib"] / merge["heap_mib"]
    ok = ratio >= TARGET_RATIO and heap_x <= TARGET_HEAP_X
    print(
        f"build+sign vs merge alone: ratio {ratio:.2f} (target >= {TARGET_RATIO}); heap peak "
        f"{heap_x:.2f} x the merge's (target <= {TARGET_HEAP_X:g} x): "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3], sys.argv[4] == "1")))
        raise SystemExit(0)
    raise SystemExit(main())
