from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import actions, registry

        registry.register(actions.AuditAction)
        registry.register_target_types(actions.TARGET_TYPES)
