from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from accounts import actions, signals  # noqa: F401 - connects receivers
        from accounts.checks import proxy_minor_rules_check
        from accounts.selectors import pairs_on_care_team
        from audit import registry

        # Every start, not only --deploy: the age rules apply in the demo too.
        checks.register(proxy_minor_rules_check)
        registry.register(actions.AccountsAction)
        registry.register_care_teams(pairs_on_care_team)
        registry.register_target_types(
            {
                "accounts.user": "Account details",
                "accounts.patientprofile": "Patient profile",
                "accounts.invitation": "Portal invitation",
                "accounts.careteammember": "Care team",
                "accounts.emailchange": "E-mail address change",
                "accounts.authenticatorapp": "Authenticator app",
                "accounts.backupcodes": "Backup codes",
                "django_otp_webauthn.webauthncredential": "Passkey",
            }
        )


class PortalAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.PrivacyOfficerAdminSite"
