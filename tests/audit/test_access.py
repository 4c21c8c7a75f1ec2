"""The access matrix (tests/access.py) over every URL of audit."""

from tests.access import AccessMatrix
from tests.audit.routes import ROUTES


class TestAuditAccess(AccessMatrix):
    ROUTES = ROUTES
