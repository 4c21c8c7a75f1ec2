"""The access matrix (tests/access.py) over every URL of records."""

from tests.access import AccessMatrix
from tests.records.routes import ROUTES


class TestRecordsAccess(AccessMatrix):
    ROUTES = ROUTES
