"""The access matrix (tests/access.py) over every URL of directory."""

from tests.access import AccessMatrix
from tests.directory.routes import ROUTES


class TestDirectoryAccess(AccessMatrix):
    ROUTES = ROUTES
