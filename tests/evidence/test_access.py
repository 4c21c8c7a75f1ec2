"""The access matrix (tests/access.py) over every URL of evidence."""

from tests.access import AccessMatrix
from tests.evidence.routes import ROUTES


class TestEvidenceAccess(AccessMatrix):
    ROUTES = ROUTES
