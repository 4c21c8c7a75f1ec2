class AccountsError(Exception):
    """A domain rule of the accounts app said no. ``code`` is stable and safe to audit."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
