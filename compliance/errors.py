class ComplianceError(Exception):
    """A compliance rule said no. ``code`` is stable and safe to audit; ``message`` names
    the rule for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
