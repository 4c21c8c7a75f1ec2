from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = "Compliance evidence"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from evidence import actions

        registry.register(actions.EvidenceAction)
        registry.register_target_types(actions.TARGET_TYPES)
