from django.db import models


class EncryptionAction(models.TextChoices):
    """Key management and erasure events. Stable codes: never rename or reuse one."""

    KEY_REGISTERED = "encryption.key_registered", "Encryption key registered"
    KEY_ROTATED = "encryption.key_rotated", "Primary encryption key changed"
    KEYS_REWRAPPED = "encryption.keys_rewrapped", "Data keys re-wrapped under the primary key"
    KEY_RETIRED = "encryption.key_retired", "Encryption key retired"
    DATA_ERASED = "encryption.data_erased", "Encrypted data erased (data key destroyed)"
    STORE_VERIFIED = "encryption.store_verified", "Stored data checked to decrypt (restore drill)"


TARGET_TYPES = {
    "encryption.kek": "Encryption key",
    "encryption.datakey": "Data key",
    "encryption.encryptedfile": "File",
}
