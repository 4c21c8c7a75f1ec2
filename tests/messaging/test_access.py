"""The access matrix (tests/access.py) over every URL of messaging."""

from tests.access import AccessMatrix
from tests.messaging.routes import ROUTES


class TestMessagingAccess(AccessMatrix):
    ROUTES = ROUTES
