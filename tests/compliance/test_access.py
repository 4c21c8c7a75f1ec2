"""The access matrix (tests/access.py) over every URL of compliance."""

from tests.access import AccessMatrix
from tests.compliance.routes import ROUTES


class TestComplianceAccess(AccessMatrix):
    ROUTES = ROUTES
