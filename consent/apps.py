from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent and disclosures"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from consent import actions

        registry.register(actions.ConsentAction)
        registry.register_target_types(
            {
                "consent.authorization": "HIPAA authorization",
                "consent.disclosure": "Disclosure",
                "consent.waiverstatement": "E-mail risk statement",
                "consent.emailwaiver": "Unencrypted e-mail waiver",
                "consent.communicationpreference": "Communication preferences",
            }
        )
