from django.urls import path

from accounts import views

app_name = "accounts"

# The home page ("accounts:home") is filed by config.urls: it reads every app.

urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/verify/", views.mfa_verify, name="mfa_verify"),
    path("sign-in/verify/return/", views.fresh_return, name="fresh_return"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("session/keepalive/", views.session_keepalive, name="session_keepalive"),
    path("invitation/accept/", views.invitation_accept, name="invitation_accept"),
    path("recovery/<str:token>/", views.recovery_open, name="recovery_open"),
    path("language/", views.language_set, name="language_set"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/new/", views.password_reset_set, name="password_reset_set"),
    path(
        "password-reset/<str:uidb64>/<str:token>/",
        views.password_reset_open,
        name="password_reset_open",
    ),
    path("invitation/<str:token>/", views.invitation_open, name="invitation_open"),
    path("security/", views.security, name="security"),
    path("security/authenticator/", views.mfa_enroll, name="mfa_enroll"),
    path("security/passkey/", views.passkey_add, name="passkey_add"),
    path("security/password/", views.password_change, name="password_change"),
    path("security/email/", views.email_change, name="email_change"),
    path("security/email/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
    path("security/backup-codes/", views.backup_codes_regenerate, name="backup_codes"),
    path(
        "security/backup-codes/download/",
        views.backup_codes_download,
        name="backup_codes_download",
    ),
    path("security/factors/<str:kind>/<str:pk>/remove/", views.factor_remove, name="factor_remove"),
    path("staff/patients/enroll/", views.patient_enroll, name="patient_enroll"),
    path("staff/accounts/new/", views.staff_create, name="staff_create"),
    path("staff/demo-outbox/", views.demo_outbox, name="demo_outbox"),
]
