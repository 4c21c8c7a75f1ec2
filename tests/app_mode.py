"""Loaded first by pytest (``-p tests.app_mode`` in pyproject.toml): the suite runs in
test mode. An unset ``APP_MODE`` means production, so each command names its own mode."""

import os

os.environ.setdefault("APP_MODE", "test")
