from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import actions, signals  # noqa: F401 - connects receivers
        from audit import registry

        registry.register(actions.AccountsAction)


class PortalAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.PrivacyOfficerAdminSite"
