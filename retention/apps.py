from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "retention"
    verbose_name = "Retention"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from retention import actions

        registry.register(actions.RetentionAction)
        registry.register_target_types(actions.TARGET_TYPES)
