"""What a PDF made from other people's PDFs keeps: nothing that runs, opens or signs.

Used wherever uploaded PDFs are merged into one of ours (the record package, the
password-protected message PDF). The upload check (``encryption.uploads``) already
refuses sources with active content; this holds even for one that got past it, or
predates it.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

logger = logging.getLogger(__name__)


class SourceRefused(Exception):
    """An untrusted source that cannot join a merged PDF, as a reason code: ``encrypted``,
    ``empty`` or ``unreadable`` (the caller words it; nothing of the file is in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def pdf_append(writer: PdfWriter, source: bytes, *, what: str, require_pages: bool = False) -> None:
    """Append an untrusted PDF to ``writer`` or raise ``SourceRefused``. A parser of
    untrusted files fails in many ways: each is logged by type only, under ``what``."""
    try:
        reader = PdfReader(io.BytesIO(source))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceRefused("encrypted")
        if require_pages and len(reader.pages) == 0:
            raise SourceRefused("empty")
        writer.append(reader, import_outline=False)
    except SourceRefused:
        raise
    except Exception as error:
        logger.warning("%s unreadable (%s)", what, type(error).__name__)
        raise SourceRefused("unreadable") from None


def image_check(data: bytes) -> None:
    """Raise ``SourceRefused("unreadable")`` unless Pillow can read ``data`` as an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise SourceRefused("unreadable") from None


def forms_drop(writer: PdfWriter) -> None:
    """Remove form fields carried over from the sources, and their old signatures.

    A source that was itself signed (a discharge summary from another provider) brings
    a signature field whose byte range described the old file: in the package it would
    show as a broken signature next to ours. Filled-in forms keep their appearance.
    """
    if "/AcroForm" in writer.root_object:
        del writer.root_object[NameObject("/AcroForm")]
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject(
            ref for ref in annotations.get_object() if not _is_signature_widget(ref.get_object())
        )
        page[NameObject("/Annots")] = kept


# Annotations a package keeps: links (their action only if it goes to a page or a web
# address) and form widgets, which show a filled-in form's values (the form itself is
# gone, see forms_drop). Comments, attachments, sounds, movies, 3D and the rest go.
_KEPT_ANNOTATIONS = frozenset({"/Link", "/Widget"})
_KEPT_ACTIONS = frozenset({"/GoTo", "/URI"})


def active_content_strip(writer: PdfWriter) -> None:
    """Nothing in the package runs, opens or carries anything: the upload check refuses
    such sources, and this holds even for one that got past it (or predates it).

    Removed: the document's open action, additional actions (``/AA``) of the document,
    pages and annotations, JavaScript and embedded files in the name tree, and every
    annotation but links and widgets; a kept annotation keeps only a link's action.
    """
    root = writer.root_object
    for key in ("/OpenAction", "/AA"):
        root.pop(NameObject(key), None)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in ("/JavaScript", "/EmbeddedFiles"):
            names.pop(NameObject(key), None)
    for page in writer.pages:
        page.pop(NameObject("/AA"), None)
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject()
        for ref in annotations.get_object():
            annotation = ref.get_object()
            if not isinstance(annotation, DictionaryObject):
                continue
            if annotation.get("/Subtype") not in _KEPT_ANNOTATIONS:
                continue
            annotation.pop(NameObject("/AA"), None)
            action = annotation.get("/A")
            if action is not None and action.get_object().get("/S") not in _KEPT_ACTIONS:
                annotation.pop(NameObject("/A"), None)
            kept.append(ref)
        page[NameObject("/Annots")] = kept


def _is_signature_widget(annotation: Any) -> bool:
    if not isinstance(annotation, DictionaryObject):
        return False
    field: Any = annotation
    for _ in range(32):  # a field's type may be inherited from its parents
        if field.get("/FT") == "/Sig":
            return True
        parent = field.get("/Parent")
        if parent is None:
            return False
        field = parent.get_object()
    return False


def unreachable_drop(writer: PdfWriter) -> None:
    """Leave out of the file what nothing in the document refers to any more.

    pypdf writes every object it ever held: an annotation removed above, and the old
    signature dictionary or script it pointed to, would still be in the bytes, only
    unlinked. pypdf's own ``compress_identical_objects`` drops one layer of such objects
    per call; this is a single walk from the catalogue and the document information.
    """
    from pypdf.generic import IndirectObject

    objects = writer._objects  # pypdf's own way to drop an object (it sets None too)
    reachable = [False] * len(objects)
    info = getattr(writer, "_info", None)  # the document information dictionary
    pending: list[Any] = [writer.root_object.indirect_reference]
    pending.append(getattr(info, "indirect_reference", info))
    while pending:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            if node.pdf is not writer or not 0 < node.idnum <= len(objects):
                continue
            if reachable[node.idnum - 1]:
                continue
            reachable[node.idnum - 1] = True
            node = objects[node.idnum - 1]
        if isinstance(node, DictionaryObject):  # streams too: their dictionary
            pending.extend(node.values())
        elif isinstance(node, ArrayObject):
            pending.extend(node)
    for index, kept in enumerate(reachable):
        if not kept:
            objects[index] = None
