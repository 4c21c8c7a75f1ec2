from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class EncryptionConfig(AppConfig):
    name = "encryption"
    verbose_name = "Encryption"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps
        from django.conf import settings
        from django.db.models.signals import post_delete

        # No image anywhere (uploads, record packages, WeasyPrint) decodes past the cap.
        from PIL import Image

        from audit import registry
        from encryption import actions, files, services
        from encryption.errors import KeyringError
        from encryption.keyring import keyring_from_settings
        from encryption.models import EncryptedFile, EncryptedModel

        Image.MAX_IMAGE_PIXELS = settings.MESSAGING_MAX_IMAGE_PIXELS
        registry.register(actions.EncryptionAction)
        registry.register_target_types(actions.TARGET_TYPES)
        # Deleting an encrypted row shreds it (services.object_deleted). One receiver per
        # concrete model, so other models keep Django's fast (signal-free) deletes.
        for model in apps.get_models():
            if issubclass(model, EncryptedModel):
                post_delete.connect(
                    services.object_deleted, sender=model, dispatch_uid=f"shred:{model._meta.label}"
                )
        post_delete.connect(
            files.file_deleted, sender=EncryptedFile, dispatch_uid="shred-file-content"
        )
        # Fail closed at start-up (every process runs this): a malformed keyring stops
        # the process with a message that names the variable, never the key.
        try:
            keyring_from_settings()
        except KeyringError as error:
            raise ImproperlyConfigured(str(error)) from None
