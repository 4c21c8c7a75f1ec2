from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    verbose_name = "Medical-record requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from audit import registry
        from records import actions
        from records.signing import signing_check

        # check --deploy: the package-signing certificate and key load and match.
        checks.register(signing_check, checks.Tags.security, deploy=True)

        registry.register(actions.RecordsAction)
        registry.register_target_types(
            {
                "records.recordrequest": "Record request",
                "records.requestdocument": "Record request document",
                "records.requestnotice": "Record request notice",
            }
        )
