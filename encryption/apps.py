from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class EncryptionConfig(AppConfig):
    name = "encryption"
    verbose_name = "Encryption"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from encryption import actions
        from encryption.errors import KeyringError
        from encryption.keyring import keyring_from_settings

        registry.register(actions.EncryptionAction)
        registry.register_target_types(actions.TARGET_TYPES)
        # Fail closed at start-up (every process runs this): a malformed keyring stops
        # the process with a message that names the variable, never the key.
        try:
            keyring_from_settings()
        except KeyringError as error:
            raise ImproperlyConfigured(str(error)) from None
