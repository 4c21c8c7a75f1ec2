from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from compliance import actions

        registry.register(actions.ComplianceAction)
        registry.register_target_types(actions.TARGET_TYPES)
