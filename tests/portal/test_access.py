"""The access matrix (tests/access.py) over every URL of portal."""

from tests.access import AccessMatrix
from tests.portal.routes import ROUTES


class TestPortalAccess(AccessMatrix):
    ROUTES = ROUTES
