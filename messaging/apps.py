from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Secure messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from messaging import actions

        registry.register(actions.MessagingAction)
        registry.register_target_types(
            {
                "messaging.thread": "Conversation",
                "messaging.message": "Secure message",
                "messaging.attachment": "Message attachment",
                "messaging.delivery": "Message notification",
                "messaging.proxynotice": "Message notification to a proxy",
                "messaging.messagetemplate": "Message template",
                "messaging.guestpackage": "Third-party package",
                "messaging.guestattachment": "Third-party package attachment",
            }
        )
