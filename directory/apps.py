from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Patient and staff directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit import registry
        from directory import actions
        from directory.audit_people import DirectoryPeople

        registry.register(actions.DirectoryAction)
        registry.register_people(DirectoryPeople())
