from django.apps import AppConfig


class EncryptionTestAppConfig(AppConfig):
    """Installed in APP_MODE=test only: a model shaped like the ones later apps will write."""

    name = "tests.encryption.testapp"
    label = "encryption_testapp"
    default_auto_field = "django.db.models.BigAutoField"
