from django.db import models


class RecordsAction(models.TextChoices):
    """Record-request events. Stable codes: never rename or reuse one."""

    REQUEST_RECEIVED = "records.request_received", "Record request received"
    REQUEST_VIEWED = "records.request_viewed", "Record request viewed"
    QUEUE_LISTED = "records.queue_listed", "Record request queue listed"
    REQUEST_VERIFIED = "records.request_verified", "Requester's identity verified"
    REQUEST_ASSIGNED = "records.request_assigned", "Record request assigned"
    REQUEST_STARTED = "records.request_started", "Record request work started"
    REQUEST_EXTENDED = "records.request_extended", "Record request extended (notice sent)"
    REQUEST_REFUSED = "records.request_refused", "Record request step refused"
    FEE_ESTIMATED = "records.fee_estimated", "Fee estimate given"
    DOCUMENT_ADDED = "records.document_added", "Source document added"
    DOCUMENT_REMOVED = "records.document_removed", "Source document removed"
    DOCUMENT_RENAMED = "records.document_renamed", "Source document retitled"
    DOCUMENT_MOVED = "records.document_moved", "Source document moved in the package order"
    PACKAGE_BUILD_QUEUED = "records.package_build_queued", "Package build queued"
    PACKAGE_BUILT = "records.package_built", "Package built and signed"
    PACKAGE_BUILD_FAILED = "records.package_build_failed", "Package build failed"
    PACKAGE_DOWNLOADED = "records.package_downloaded", "Package downloaded"
    REQUEST_FULFILLED = "records.request_fulfilled", "Record request fulfilled"
    REQUEST_DENIED = "records.request_denied", "Record request denied (letter sent)"
    REQUEST_WITHDRAWN = "records.request_withdrawn", "Record request withdrawn"
    DEADLINE_ALERTED = "records.deadline_alerted", "Deadline alert raised"
