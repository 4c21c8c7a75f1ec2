"""The file store on local disk, durable before the database row that names it commits.

Django's ``FileSystemStorage`` writes and closes the file but never flushes it to the
disk: after a power cut or a kernel crash the row could commit (PostgreSQL fsyncs its
WAL) while the ciphertext it names was still in the page cache and is gone or short.
Here each saved file, and the directories that name it up to the store's root, are
fsynced before ``save`` returns, so the upload's transaction only commits rows whose
ciphertext is on disk.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.files.storage import FileSystemStorage


def _fsync_path(path: str, flags: int) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class DurableFileSystemStorage(FileSystemStorage):
    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        saved = super().save(name, content, max_length=max_length)
        path = self.path(saved)
        _fsync_path(path, os.O_RDONLY)
        # Every directory from the file's up to the store's root: a folder made for this
        # file ("ab/" of "ab/ab12...") is itself an entry in its parent.
        root = os.path.abspath(self.location)
        folder = os.path.dirname(path)
        while True:
            _fsync_path(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            if folder == root or os.path.dirname(folder) == folder:
                break
            folder = os.path.dirname(folder)
        return saved
