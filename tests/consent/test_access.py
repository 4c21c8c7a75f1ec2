"""The access matrix (tests/access.py) over every URL of consent."""

from tests.access import AccessMatrix
from tests.consent.routes import ROUTES


class TestConsentAccess(AccessMatrix):
    ROUTES = ROUTES
