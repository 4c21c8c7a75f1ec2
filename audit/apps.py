from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from audit import actions, registry
        from audit.checks import app_role_check
        from audit.signing import signing_check

        # check --deploy: the web and workers' database role cannot rewrite the trail; the
        # checkpoint signing key loads; an anchor sink is chosen.
        checks.register(app_role_check, checks.Tags.security, deploy=True)
        checks.register(signing_check, checks.Tags.security, deploy=True)
        registry.register(actions.AuditAction)
        registry.register_target_types(actions.TARGET_TYPES)
