"""The lowest Django layer: view decorators and session keys every app's views share.

No models and no imports of our apps, so any app may use it (``support/`` is the same
for helpers that need no Django at all).
"""
