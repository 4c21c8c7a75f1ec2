"""Small helpers that need no Django; they have their own fast tests in tests/support."""
