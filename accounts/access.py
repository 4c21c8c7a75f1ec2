"""The public and half-signed-in lists for the deny-by-default middleware.

Everything not named here needs an authenticated session whose second factor was
verified in this session. Names are URL names (``namespace:name``).
"""

PUBLIC_VIEWS = frozenset(
    {
        "accounts:sign_in",
        "accounts:invitation_open",
        "accounts:invitation_accept",
        "accounts:password_reset",
        "accounts:recovery_open",
        "accounts:language_set",  # a cookie, and the account's language when signed in
        "accounts:password_reset_open",
        "accounts:password_reset_set",
        "messaging:bounce_webhook",  # signed with HMAC instead (messaging.delivery)
        # Guest pickup (portal.guest_views): third parties have no account. The signed
        # single-use link, the browser binding and the e-mailed code stand in for sign-in.
        "portal:guest_open",
        "portal:guest_code",
        "portal:guest_package",
        "portal:guest_attachment",
    }
)

# Reachable after the password, before the second factor.
PRE_MFA_VIEWS = frozenset(
    {
        "accounts:mfa_verify",
        "accounts:mfa_enroll",
        "accounts:sign_out",
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
        "otp_webauthn:js-i18n-catalog",
    }
)

PUBLIC_PATH_PREFIXES = ("/static/",)
