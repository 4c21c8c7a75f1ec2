"""The access matrix (tests/access.py) over every URL of retention."""

from tests.access import AccessMatrix
from tests.retention.routes import ROUTES


class TestRetentionAccess(AccessMatrix):
    ROUTES = ROUTES
