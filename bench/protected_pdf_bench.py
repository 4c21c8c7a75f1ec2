"""Password-protected message PDF benchmark (issue 19): a ~25 MiB message, with and without AES-256.

Run by ``make bench`` (or ``.venv/bin/python bench/protected_pdf_bench.py``); not a test.
No database. The attachments are made once and kept under ``var/bench/``: photos
(JPEG, camera-sized and noisy, so they compress as little as real ones), and scanned
letters (PDFs of full-page JPEG scans, as a scanner makes them), about
``BENCH_PROTECTED_MIB`` (default 25) MiB in all, synthetic. Then, each in a fresh child
process, best of ``BENCH_PROTECTED_ROUNDS`` (default 2) processes of
``BENCH_PROTECTED_REPEATS`` (default 5) runs each:

* ``merge``: ``messaging.protected_pdf.message_pdf``, the message page by WeasyPrint,
  the photos as pages, the letters merged, unencrypted;
* ``protected``: the same, then ``protect`` on its bytes (parsed again and re-written
  encrypted, AES-256 R6), as a delivery will run it. Encrypting the merged document in
  the same writer instead, without the second parse, measured no faster (within the
  noise), so there is one way to do it.

The attachments are the costly case for encryption: WeasyPrint and pypdf pass JPEG
data through undecoded, so making the PDF is little more than copying bytes, while AES
has to read and write every one of them.

Prints both times and the ratio merge/protected (target >= 0.5: the password costs at
most as much again as making the PDF).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
TOTAL_MIB = float(os.environ.get("BENCH_PROTECTED_MIB", "25"))
ROUNDS = int(os.environ.get("BENCH_PROTECTED_ROUNDS", "2"))
# Each run takes a fraction of a second: the best of a few in the same process, so one
# stall of a shared machine does not decide the ratio.
REPEATS = int(os.environ.get("BENCH_PROTECTED_REPEATS", "5"))
TARGET_RATIO = 0.5
SOURCES = ROOT / "var" / "bench" / f"protected-sources-{TOTAL_MIB:g}mib"
PHOTO_SIZE, SCAN_SIZE = (3000, 2250), (2480, 3508)  # a 6.75 MP photo; A4 at 300 dpi


def _noisy_jpeg(size: tuple[int, int], seed: int) -> bytes:
    """Noise over a gradient: JPEG cannot shrink it much, as with a real photo or scan."""
    import io
    import random

    from PIL import Image, ImageFilter

    width, height = size
    rng = random.Random(seed)
    noise = Image.frombytes(
        "RGB", (width // 2, height // 2), rng.randbytes(width * height * 3 // 4)
    )
    image = noise.resize(size).filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _scan_pdf(seed: int) -> bytes:
    """A two-page "scanned letter": each page one full-page JPEG, as scanners write them."""
    import io

    from PIL import Image

    pages = [Image.open(io.BytesIO(_noisy_jpeg(SCAN_SIZE, seed * 10 + n))) for n in range(2)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", resolution=300.0, save_all=True, append_images=pages[1:])
    return out.getvalue()


def _sources_make(directory: Path) -> list[Path]:
    """Photos and scans in turn while the total stays near ``TOTAL_MIB``; reused if present."""
    directory.mkdir(parents=True, exist_ok=True)
    existing = sorted(directory.glob("attachment-*"))
    if existing:
        return existing
    total, number = 0, 0
    paths: list[Path] = []
    while True:
        if number % 2 == 0:
            path, data = directory / f"attachment-{number:02}.jpg", _noisy_jpeg(PHOTO_SIZE, number)
        else:
            path, data = directory / f"attachment-{number:02}.pdf", _scan_pdf(number)
        if paths and total + len(data) > TOTAL_MIB * MiB * 1.1:
            return paths
        path.write_bytes(data)
        paths.append(path)
        total += len(data)
        number += 1


def measure(mode: str, directory: str) -> dict[str, float]:
    """In a child process: one run of ``mode`` over the attachments in ``directory``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)  # WeasyPrint's and fontTools' progress lines
    from messaging.protected_pdf import message_pdf, password_new, protect

    kinds = {".jpg": "image/jpeg", ".pdf": "application/pdf"}
    paths = sorted(Path(directory).glob("attachment-*"))
    attachments = [(p.name, kinds[p.suffix], p.read_bytes()) for p in paths]

    message = {
        "subject_line": "Your scans and photos from the clinic",
        "body_html_or_text": "Dear patient,\nthe scans and photos you asked for are attached.",
        "organisation": "Riverside Community Health",
        "language": "en",
    }
    message_pdf(**message, attachments=attachments[:1])  # warm WeasyPrint outside timing
    seconds = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = message_pdf(**message, attachments=attachments)
        if mode == "protected":
            result = protect(result, password_new())
        seconds = min(seconds, time.perf_counter() - start)
    return {
        "seconds": seconds,
        "in_mib": sum(len(a[2]) for a in attachments) / MiB,
        "out_mib": len(result) / MiB,
        "files": len(attachments),
    }


def _child(mode: str, directory: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, directory],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    os.environ.setdefault("APP_MODE", "test")
    started = time.perf_counter()
    reused = any(SOURCES.glob("attachment-*"))
    _sources_make(SOURCES)
    how = "reused from" if reused else f"made in {time.perf_counter() - started:.1f} s into"
    print(f"attachments {how} {SOURCES.relative_to(ROOT)}", flush=True)
    results = {
        mode: min((_child(mode, str(SOURCES)) for _ in range(ROUNDS)), key=lambda r: r["seconds"])
        for mode in ("merge", "protected")
    }
    merge, protected = results["merge"], results["protected"]
    print(
        f"input: {merge['files']:.0f} attachments (photos, scanned letters), "
        f"{merge['in_mib']:.1f} MiB; best of {ROUNDS} fresh processes x {REPEATS} runs"
    )
    print(f"{'measurement':<14}{'seconds':>9}{'ratio':>8}{'out MiB':>9}")
    for mode, result in results.items():
        shown = "" if mode == "merge" else f"{merge['seconds'] / result['seconds']:.2f}"
        print(f"{mode:<14}{result['seconds']:>9.2f}{shown:>8}{result['out_mib']:>9.1f}")
    ratio = merge["seconds"] / protected["seconds"]
    ok = ratio >= TARGET_RATIO
    print(
        f"protected vs unencrypted: ratio {ratio:.2f} (target >= {TARGET_RATIO}): "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
        raise SystemExit(0)
    raise SystemExit(main())
