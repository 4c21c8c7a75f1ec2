from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from audit import actions, registry
        from audit.signing import signing_check

        # check --deploy: the checkpoint signing key loads; an anchor sink is chosen.
        checks.register(signing_check, checks.Tags.security, deploy=True)
        registry.register(actions.AuditAction)
        registry.register_target_types(actions.TARGET_TYPES)
