"""Settings for every mode, read from the environment through validating helpers.

``APP_MODE`` is ``production`` unless set (fail closed: a missing, weak or published
secret, database, host list or key stops start-up with a message naming it), ``demo``
(zero configuration for `make run`: e-mail to a demo outbox) or ``test`` (the suite).
Every variable is documented in ``.env.example``.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from celery.schedules import crontab

from messaging.dlp import rules_parse as dlp_rules_parse
from support.env import ConfigError, Env, parse_database_url
from support.net import networks_parse, relay_parse
from support.secrets import local_keys_problems, published, secret_problem

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env.from_os()


# Unset means production: every weaker mode is asked for by name (`make run` sets demo,
# `make test` sets test), so a forgotten variable can only fail closed.
APP_MODE = env.choice("APP_MODE", ("demo", "test", "production"), "production")
PRODUCTION = APP_MODE == "production"
# Where the demo and the tests keep their files (outbox, media, signing certificate).
VAR_DIR = Path(env.string("VAR_DIR") or str(BASE_DIR / "var"))


def _production_secret(name: str, *, min_length: int, required: bool = True) -> str:
    """A secret production may run on: set, long, random and never a published value."""
    value = env.secret(name) or ""
    if not value:
        if required:
            raise ConfigError(f"{name} must be set in production")
        return ""
    problem = secret_problem(value, min_length=min_length)
    if problem:
        raise ConfigError(f"{name} {problem}")
    return value


if PRODUCTION:
    SECRET_KEY = _production_secret("SECRET_KEY", min_length=50)
    DATABASES = {"default": parse_database_url(env.required("DATABASE_URL"))}
    ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ConfigError("ALLOWED_HOSTS must be set in production")
    if env.secret("ENCRYPTION_KEYS") is None and env.raw("ENCRYPTION_KMS_KEY_ID") is None:
        raise ConfigError(
            "ENCRYPTION_KEYS (id:base64-of-32-bytes[,id:key...]) or ENCRYPTION_KMS_KEY_ID "
            "must be set in production"
        )
    for _problem in local_keys_problems(env.secret("ENCRYPTION_KEYS") or ""):
        raise ConfigError(f"ENCRYPTION_KEYS {_problem}")
    AUDIT_SEAL_KEY = _production_secret("AUDIT_SEAL_KEY", min_length=32)
    REDIS_URL: str | None = env.required("REDIS_URL")
    if env.boolean("DEBUG", False):
        raise ConfigError("DEBUG must be false in production")
    DEBUG = False
else:
    SECRET_KEY = env.secret("SECRET_KEY") or "insecure-demo-and-test-only-key-x9"
    DATABASES = {
        "default": parse_database_url(
            env.string("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal"
        )
    }
    ALLOWED_HOSTS = env.csv("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "testserver"])
    AUDIT_SEAL_KEY = env.secret("AUDIT_SEAL_KEY") or "insecure-demo-audit-seal-key-0123456789"
    REDIS_URL = env.string("REDIS_URL")
    # Off in the demo too (people sign in to it): a developer turns it on for their own use.
    DEBUG = env.boolean("DEBUG", False)
# Two database roles (README "Running in production", step 3): DATABASE_URL is the role
# the web, workers and beat use, which owns nothing and so cannot alter, disable the
# triggers of, truncate or drop the audit tables; DATABASE_OWNER_URL, given only to the
# migration step (and the restore drill), is the role that owns the tables. A process
# given it connects as the owner and grants the application's role what it needs
# (`manage.py db_grants`); DATABASE_APP_ROLE names that role for the grants and for the
# check that it owns nothing (audit.W001-W004).
DATABASE_APP_ROLE = str(DATABASES["default"]["USER"])
_owner_url = env.secret("DATABASE_OWNER_URL")
if _owner_url:
    _owner = parse_database_url(_owner_url, name="DATABASE_OWNER_URL")
    _app = DATABASES["default"]
    if not DATABASE_APP_ROLE or _owner["USER"] == DATABASE_APP_ROLE:
        raise ConfigError(
            "DATABASE_URL must name the application's role, not the owner's, when "
            "DATABASE_OWNER_URL is set"
        )
    if any(_owner[part] != _app[part] for part in ("NAME", "HOST", "PORT")):
        raise ConfigError("DATABASE_OWNER_URL must name the same database as DATABASE_URL")
    DATABASES = {"default": _owner}
# Earlier seal keys, so seals and checkpoints made before a rotation still verify.
AUDIT_SEAL_RETIRED_KEYS = env.csv("AUDIT_SEAL_RETIRED_KEYS")
if PRODUCTION and any(published(key) for key in AUDIT_SEAL_RETIRED_KEYS):
    raise ConfigError("AUDIT_SEAL_RETIRED_KEYS holds a value published in the source code")

# Activity review (audit/review.py, 45 CFR 164.308(a)(1)(ii)(D)): what the privacy
# officer's lists call out. Working hours are local (TIME_ZONE), start inclusive, end
# exclusive, Monday to Friday; staff reads of patient data outside them are listed.
AUDIT_WORKING_HOURS_START = env.integer("AUDIT_WORKING_HOURS_START", 7, minimum=0)
AUDIT_WORKING_HOURS_END = env.integer("AUDIT_WORKING_HOURS_END", 19, minimum=1)
if not AUDIT_WORKING_HOURS_START < AUDIT_WORKING_HOURS_END <= 24:
    raise ConfigError("AUDIT_WORKING_HOURS_START must come before AUDIT_WORKING_HOURS_END (<= 24)")
# More patient-data events than this by one member of staff within one clock hour.
AUDIT_BULK_READS_PER_HOUR = env.integer("AUDIT_BULK_READS_PER_HOUR", 50, minimum=1)
# This many failed sign-ins or second factors within one clock hour, per account or
# per address (lock-outs are listed whatever the count).
AUDIT_FAILED_SIGN_INS_PER_HOUR = env.integer("AUDIT_FAILED_SIGN_INS_PER_HOUR", 5, minimum=1)

# Checkpoint signing (Ed25519): the sealer's private key, a PEM file readable by the
# worker only. Verifiers need only its public key (`manage.py audit_signing_key
# --public`). Demo and tests make one under var/audit-signing/ on first use; production
# refuses to start without it. Public keys (PEM files) of retired signing keys keep
# checkpoints signed before a rotation verifiable.
AUDIT_SIGNING_DEMO_DIR = VAR_DIR / "audit-signing"
if PRODUCTION and env.raw("AUDIT_SIGNING_KEY_FILE") is None:
    raise ConfigError(
        "AUDIT_SIGNING_KEY_FILE must be set in production (the Ed25519 key that signs audit "
        "checkpoints; make one with `manage.py audit_signing_key --new PATH`)"
    )
AUDIT_SIGNING_KEY_FILE = env.string("AUDIT_SIGNING_KEY_FILE") or str(
    AUDIT_SIGNING_DEMO_DIR / "ed25519-key.pem"
)
AUDIT_SIGNING_RETIRED_PUBLIC_KEY_FILES = env.csv("AUDIT_SIGNING_RETIRED_PUBLIC_KEY_FILES")

# Anchors: every checkpoint head is also written outside the database, so a database
# restored from before a checkpoint is found by `audit_verify`. "file" appends JSON lines
# to AUDIT_ANCHOR_PATH (on a separate, append-only volume); "s3" writes one object per
# checkpoint to a bucket with Object Lock in compliance mode, retained
# AUDIT_ANCHOR_RETAIN_DAYS. Production must choose (even "none", which check --deploy
# then warns about, audit.W005); demo and tests default to none.
if PRODUCTION and env.raw("AUDIT_ANCHOR_SINK") is None:
    raise ConfigError("AUDIT_ANCHOR_SINK must be set in production: file, s3 or none")
AUDIT_ANCHOR_SINK = env.choice("AUDIT_ANCHOR_SINK", ("file", "s3", "none"), "none")
AUDIT_ANCHOR_PATH = env.string("AUDIT_ANCHOR_PATH") or ""
AUDIT_ANCHOR_S3_BUCKET = env.string("AUDIT_ANCHOR_S3_BUCKET") or ""
AUDIT_ANCHOR_S3_PREFIX = env.string("AUDIT_ANCHOR_S3_PREFIX") or "audit-anchors"
AUDIT_ANCHOR_S3_REGION = env.string("AUDIT_ANCHOR_S3_REGION")
AUDIT_ANCHOR_S3_ENDPOINT_URL = env.string("AUDIT_ANCHOR_S3_ENDPOINT_URL")
# Six years and two leap days, the HIPAA documentation floor (45 CFR 164.316(b)(2)).
AUDIT_ANCHOR_RETAIN_DAYS = env.integer("AUDIT_ANCHOR_RETAIN_DAYS", 2192, minimum=1)
if AUDIT_ANCHOR_SINK == "file" and not AUDIT_ANCHOR_PATH:
    raise ConfigError("AUDIT_ANCHOR_SINK=file needs AUDIT_ANCHOR_PATH")
if AUDIT_ANCHOR_SINK == "s3" and not AUDIT_ANCHOR_S3_BUCKET:
    raise ConfigError("AUDIT_ANCHOR_SINK=s3 needs AUDIT_ANCHOR_S3_BUCKET")

# Encryption at rest (encryption/): key-encryption keys and the encrypted file store.
# Local keys are "id:base64key,..." (32-byte AES keys); the database records which is
# primary, so these variables only need to hold every key still in use. Demo and tests
# fall back to a fixed, public key: never production (checked above).
ENCRYPTION_KEYS = env.secret("ENCRYPTION_KEYS") or (
    None if PRODUCTION else "insecure-dev:aW5zZWN1cmUtZGVtby1hbmQtdGVzdC1vbmx5LWtleSE"
)
ENCRYPTION_PRIMARY_KEY_ID = env.string("ENCRYPTION_PRIMARY_KEY_ID")
ENCRYPTION_KMS_KEY_ID = env.string("ENCRYPTION_KMS_KEY_ID")
ENCRYPTION_KMS_REGION = env.string("ENCRYPTION_KMS_REGION")
ENCRYPTION_KMS_ENDPOINT_URL = env.string("ENCRYPTION_KMS_ENDPOINT_URL")
ENCRYPTION_FILES_S3_BUCKET = env.string("ENCRYPTION_FILES_S3_BUCKET")
ENCRYPTION_FILES_S3_REGION = env.string("ENCRYPTION_FILES_S3_REGION")
ENCRYPTION_FILES_S3_ENDPOINT_URL = env.string("ENCRYPTION_FILES_S3_ENDPOINT_URL")
ENCRYPTION_FILES_S3_PREFIX = env.string("ENCRYPTION_FILES_S3_PREFIX") or "encrypted"

TRUSTED_PROXY_COUNT = env.integer("TRUSTED_PROXY_COUNT", 0, minimum=0)
# The proxies' own addresses: forwarded headers (client IP, HTTPS) from any other peer
# are dropped (audit.middleware.TrustedProxyMiddleware), and deploy/gunicorn.conf.py
# gives gunicorn the same list, so the two never disagree about who said "https".
try:
    TRUSTED_PROXY_NETWORKS = networks_parse(
        env.csv("TRUSTED_PROXY_ADDRESSES", ["127.0.0.1", "::1"])
    )
except ValueError as _error:
    raise ConfigError(f"TRUSTED_PROXY_ADDRESSES: {_error}") from None
ORGANISATION_NAME = env.string("ORGANISATION_NAME") or "Riverside Community Health"
PORTAL_BASE_URL = (env.string("PORTAL_BASE_URL") or "http://localhost:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env.string("DEFAULT_FROM_EMAIL") or "no-reply@portal.localhost"

# Sessions: 15 minutes idle, 12 hours absolute (45 CFR 164.312(a)(2)(iii) automatic logoff).
SESSION_IDLE_TIMEOUT = env.integer("SESSION_IDLE_TIMEOUT_SECONDS", 15 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT = env.integer("SESSION_ABSOLUTE_TIMEOUT_SECONDS", 12 * 3600, minimum=300)
MFA_FRESHNESS_SECONDS = env.integer("MFA_FRESHNESS_SECONDS", 5 * 60, minimum=30)
INVITATION_TTL_HOURS = env.integer("INVITATION_TTL_HOURS", 72, minimum=1)
# A parent's proxy access to a minor's account (45 CFR 164.502(g)(3); state law decides,
# so the organisation sets these): the stored scope in full until the first age, only
# PROXY_MINOR_LIMITED_SCOPES from it, nothing from the second (the link ends).
PROXY_MINOR_FULL_UNTIL = env.integer("PROXY_MINOR_FULL_UNTIL", 12, minimum=0)
PROXY_MINOR_ENDS_AT = env.integer("PROXY_MINOR_ENDS_AT", 18, minimum=1)
PROXY_MINOR_LIMITED_SCOPES = env.csv(
    "PROXY_MINOR_LIMITED_SCOPES", ["read_messages", "send_messages"]
)
# A forgotten-password link works once, for an hour.
PASSWORD_RESET_TIMEOUT = 3600

AXES_FAILURE_LIMIT = env.integer("LOCKOUT_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env.integer("LOCKOUT_COOLOFF_MINUTES", 15, minimum=1))
IP_FAILURE_LIMIT = env.integer("LOCKOUT_IP_FAILURE_LIMIT", 30, minimum=1)

WEBAUTHN_RP_ID = env.string("WEBAUTHN_RP_ID") or "localhost"
WEBAUTHN_ORIGINS = env.csv("WEBAUTHN_ORIGINS", [PORTAL_BASE_URL])
if PRODUCTION:
    # Links in e-mails and passkeys must name the real site, over HTTPS.
    if not env.raw("PORTAL_BASE_URL") or not PORTAL_BASE_URL.startswith("https://"):
        raise ConfigError("PORTAL_BASE_URL must be set to the https:// address in production")
    if not env.raw("WEBAUTHN_RP_ID"):
        raise ConfigError("WEBAUTHN_RP_ID must be set (the site's domain) in production")
    if not all(origin.startswith("https://") for origin in WEBAUTHN_ORIGINS):
        raise ConfigError("WEBAUTHN_ORIGINS must all be https:// in production")

EMAIL_HOST = env.string("EMAIL_HOST") or "localhost"
EMAIL_PORT = env.integer("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env.string("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env.secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env.boolean("EMAIL_USE_TLS", PRODUCTION)
EMAIL_USE_SSL = env.boolean("EMAIL_USE_SSL", False)
# A hung relay must not hold a worker past its delivery claim (MESSAGING_NOTICE_LEASE_SECONDS).
EMAIL_TIMEOUT = env.integer("EMAIL_TIMEOUT_SECONDS", 30, minimum=1)
if PRODUCTION and not (EMAIL_USE_TLS or EMAIL_USE_SSL):
    raise ConfigError("EMAIL_USE_TLS or EMAIL_USE_SSL must be true in production")
# Verified-TLS delivery of message content (messaging/tls_delivery.py): host:port of a
# relay that itself insists on verified TLS to the next hop; empty means the MX hosts.
EMAIL_TLS_RELAY = env.string("EMAIL_TLS_RELAY") or ""
try:
    relay_parse(EMAIL_TLS_RELAY)
except ValueError as error:
    raise ConfigError(f"EMAIL_TLS_RELAY {error}") from None
# A PEM file of certificate authorities trusted for that delivery *instead of* the
# system's roots: for a relay with an internal CA (and the tests' throwaway CA). Empty
# means the system's roots. Certificates and host names are verified either way.
EMAIL_TLS_CA_FILE = env.string("EMAIL_TLS_CA_FILE") or ""
EMAIL_BACKEND = (
    "accounts.outbox.DemoOutboxBackend"
    if APP_MODE == "demo"
    else "django.core.mail.backends.smtp.EmailBackend"
)
DEMO_OUTBOX_DIR = VAR_DIR / "outbox"

# Secure messaging.
MESSAGING_MAX_FILE_BYTES = env.integer("MESSAGING_MAX_FILE_MIB", 25, minimum=1) * 1024 * 1024
MESSAGING_MAX_MESSAGE_BYTES = env.integer("MESSAGING_MAX_MESSAGE_MIB", 100, minimum=1) * 1024 * 1024
# Images larger than this are refused at upload, and nothing (Pillow, WeasyPrint) decodes
# more pixels than this anywhere: a small PNG can expand to gigabytes of pixels.
MESSAGING_MAX_IMAGE_PIXELS = (
    env.integer("MESSAGING_MAX_IMAGE_MEGAPIXELS", 40, minimum=1) * 1_000_000
)
# Uploads held in memory at once per account (each up to MESSAGING_MAX_MESSAGE_MIB).
MESSAGING_MAX_CONCURRENT_UPLOADS = env.integer("MESSAGING_MAX_CONCURRENT_UPLOADS", 2, minimum=1)
MESSAGING_ALLOWED_TYPES = env.csv(
    "MESSAGING_ALLOWED_TYPES", ["application/pdf", "image/png", "image/jpeg", "text/plain"]
)
_KNOWN_TYPES = {"application/pdf", "image/png", "image/jpeg", "text/plain"}
if not set(MESSAGING_ALLOWED_TYPES) <= _KNOWN_TYPES:
    raise ConfigError(f"MESSAGING_ALLOWED_TYPES may only name {', '.join(sorted(_KNOWN_TYPES))}")
try:
    MESSAGING_SUBJECT_RULES = dlp_rules_parse(env.string("MESSAGING_SUBJECT_RULES") or "")
except ValueError as _error:
    raise ConfigError(f"MESSAGING_SUBJECT_RULES: {_error}") from None
MESSAGING_NOTICE_MAX_ATTEMPTS = env.integer("MESSAGING_NOTICE_MAX_ATTEMPTS", 8, minimum=1)
MESSAGING_NOTICE_RETRY_SECONDS = env.integer("MESSAGING_NOTICE_RETRY_SECONDS", 60, minimum=1)
MESSAGING_NOTICE_LEASE_SECONDS = env.integer("MESSAGING_NOTICE_LEASE_SECONDS", 300, minimum=1)
if EMAIL_TIMEOUT * 2 > MESSAGING_NOTICE_LEASE_SECONDS:
    raise ConfigError("MESSAGING_NOTICE_LEASE_SECONDS must be at least twice EMAIL_TIMEOUT_SECONDS")
MESSAGING_SWEEP_GRACE_SECONDS = env.integer("MESSAGING_SWEEP_GRACE_SECONDS", 120, minimum=0)
MESSAGING_MESSAGE_ID_DOMAIN = (
    env.string("MESSAGING_MESSAGE_ID_DOMAIN") or urlsplit(PORTAL_BASE_URL).hostname or "localhost"
)
# Optional (without it every bounce call is refused); when set, as strong as any secret.
MESSAGING_BOUNCE_WEBHOOK_SECRET = (
    _production_secret("MESSAGING_BOUNCE_WEBHOOK_SECRET", min_length=32, required=False)
    if PRODUCTION
    else env.secret("MESSAGING_BOUNCE_WEBHOOK_SECRET") or ""
)
MESSAGING_BOUNCE_MAX_AGE_SECONDS = env.integer("MESSAGING_BOUNCE_MAX_AGE_SECONDS", 300, minimum=30)
# Uploads are PHI: held in memory (within the limits above) and encrypted from there,
# never spooled to a temporary file in clear.
FILE_UPLOAD_HANDLERS = ["encryption.uploads.LimitedMemoryUploadHandler"]
# The forms that take files. Any other request's files are skipped unread, so an
# anonymous POST cannot make the server hold 100 MiB.
UPLOAD_VIEWS = frozenset(
    {
        "messaging:compose",
        "messaging:draft",
        "messaging:thread_reply",
        "messaging:guest_compose",
        "portal:reply",
        "consent:paper_record",
        "consent:correct",
        "directory:proxy_add",
        "records:documents",
        "compliance:associate_add",
        "compliance:associate_renew",
    }
)
DATA_UPLOAD_MAX_NUMBER_FILES = 20
MEDIA_ROOT = Path(env.string("MEDIA_ROOT") or str(VAR_DIR / "media"))

# Record packages (records/): page size of the cover and image pages, and the PAdES
# signing certificate and key (PEM or DER files; the key may be encrypted with
# RECORDS_SIGNING_KEY_PASSWORD). Demo and tests use a self-signed certificate that
# `manage.py records_demo_certificate` makes under var/records-signing/; never production.
RECORDS_PAGE_SIZE = env.choice("RECORDS_PAGE_SIZE", ("letter", "A4"), "letter")
RECORDS_DEMO_SIGNING_DIR = VAR_DIR / "records-signing"
if PRODUCTION:
    for _name in ("RECORDS_SIGNING_CERT_FILE", "RECORDS_SIGNING_KEY_FILE"):
        if env.raw(_name) is None:
            raise ConfigError(
                f"{_name} must be set in production (the organisation's document-signing "
                "certificate and its private key, for record packages)"
            )
RECORDS_SIGNING_CERT_FILE = env.string("RECORDS_SIGNING_CERT_FILE") or str(
    RECORDS_DEMO_SIGNING_DIR / "demo-cert.pem"
)
RECORDS_SIGNING_KEY_FILE = env.string("RECORDS_SIGNING_KEY_FILE") or str(
    RECORDS_DEMO_SIGNING_DIR / "demo-key.pem"
)
RECORDS_SIGNING_KEY_PASSWORD = env.secret("RECORDS_SIGNING_KEY_PASSWORD") or ""


# ---------------------------------------------------------------------------------------
# Wiring that does not vary by environment.

INSTALLED_APPS = [
    "accounts.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # its widget templates, for FORM_RENDERER
    # Index expressions with an operator class (the patient search's trigram indexes).
    "django.contrib.postgres",
    # django-otp's framework; its TOTP and static-token plugins are replaced by
    # accounts.factors, whose secrets are encrypted or hashed (the plugins keep them in clear).
    "django_otp",
    "django_otp_webauthn",
    "axes",
    "csp",
    "audit",
    "health.apps.HealthConfig",
    "encryption.apps.EncryptionConfig",
    "accounts.apps.AccountsConfig",
    "consent.apps.ConsentConfig",
    "messaging.apps.MessagingConfig",
    "records.apps.RecordsConfig",
    "retention.apps.RetentionConfig",
    "directory.apps.DirectoryConfig",
    "evidence.apps.EvidenceConfig",
    "portal.apps.PortalConfig",
    "compliance.apps.ComplianceConfig",
]
if APP_MODE == "test":
    # A small model with encrypted fields for tests/encryption (never in demo or production).
    INSTALLED_APPS.append("tests.encryption.testapp.apps.EncryptionTestAppConfig")

MIDDLEWARE = [
    # /healthz and /readyz answer first: no session, Host check or HTTPS redirect.
    "health.middleware.HealthCheckMiddleware",
    "audit.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files answer here, before sessions and the database are touched.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "accounts.middleware.PrivacyHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (cookie, then Accept-Language) before sign-in; the account's
    # own choice after it (accounts.middleware.AccountLanguageMiddleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.AccountLanguageMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.RequireVerifiedMiddleware",
    # Staff who have not acknowledged the current workforce policies reach only that page.
    "compliance.middleware.PolicyAcknowledgementMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "encryption.middleware.ErasedMiddleware",
    "encryption.middleware.StoreFullMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
                "portal.context_processors.acting",
                "core.context_processors.pending_download",
            ],
            "libraries": {"form_help": "core.templatetags.form_help"},
        },
    }
]
# Widgets render through TEMPLATES, so templates/django/forms/widgets/attrs.html applies:
# it writes a text limit as data-maxlength (a counter shows it) instead of maxlength, with
# which the browser silently cuts pasted text. The server refuses too-long text instead.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES["default"]["ATOMIC_REQUESTS"] = False
# A pool per process bounds its connections: no load on one process (a threaded server,
# many gunicorn threads) can exhaust PostgreSQL's max_connections; a request waits for a
# free connection up to DATABASE_POOL_TIMEOUT_SECONDS instead. Size it to the process's
# threads (deploy/gunicorn.conf.py). Pooled connections are checked before reuse, so a
# database restart costs no failed request.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them instead
_POOL_OPTIONS = {
    "min_size": 1,
    "max_size": env.integer("DATABASE_POOL_MAX_SIZE", 4, minimum=1),
    "timeout": env.integer("DATABASE_POOL_TIMEOUT_SECONDS", 10, minimum=1),
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks each connection it lends
_url_options = DATABASES["default"]["OPTIONS"]
assert isinstance(_url_options, dict)
DATABASES["default"]["OPTIONS"] = {**_url_options, "pool": _POOL_OPTIONS}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if APP_MODE == "test":
    # Argon2 is slow on purpose; the suite makes five accounts per test. The production
    # hasher is pinned by tests/accounts/test_sign_in.py (which sets it back).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:sign_in"
# The second-factor step a sensitive action sends a stale session to (core.decorators).
OTP_VERIFY_URL = "accounts:mfa_verify"
# Where a third party's pickup link opens (portal's page; messaging sends the link).
GUEST_PICKUP_URL = "portal:guest_open"
LOGIN_REDIRECT_URL = "accounts:home"

LANGUAGE_CODE = "en"
# Patient-facing pages, e-mails and letters come in these languages; staff pages are English.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# 45 CFR 164.524(d)(2)(iii): denial letters name a contact: a name or title, and a phone
# number. Production must say who; the demo's number is a placeholder.
RECORDS_PRIVACY_CONTACT = env.string("RECORDS_PRIVACY_CONTACT") or (
    "" if PRODUCTION else f"The Privacy Officer, {ORGANISATION_NAME}, (555) 010-0199"
)
if PRODUCTION and not RECORDS_PRIVACY_CONTACT:
    raise ConfigError(
        "RECORDS_PRIVACY_CONTACT must be set in production: the title or name and the phone "
        "number that denial letters give for complaints (45 CFR 164.524(d)(2)(iii))"
    )
# Deadlines (record requests, authorization expiry) fall at midnight in this zone.
TIME_ZONE = env.string("TIME_ZONE") or "UTC"
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ConfigError(f"TIME_ZONE={TIME_ZONE!r} is not a known IANA time zone") from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` writes here; WhiteNoise serves it from every web process
# (production: hashed, compressed names cached for a year; demo and tests: straight from
# the source folders, no collectstatic needed).
STATIC_ROOT: Path | None = (
    Path(env.string("STATIC_ROOT") or str(VAR_DIR / "static")) if PRODUCTION else None
)
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_ALLOW_ALL_ORIGINS = False
MEDIA_URL = "/media-never-served/"
# The encrypted file store holds ciphertext only (encryption.files): S3 when a bucket is
# configured (credentials from the usual AWS sources), else a private directory.
_ENCRYPTED_FILES: dict[str, object] = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ENCRYPTION_FILES_S3_BUCKET,
            "region_name": ENCRYPTION_FILES_S3_REGION,
            "endpoint_url": ENCRYPTION_FILES_S3_ENDPOINT_URL,
            "location": ENCRYPTION_FILES_S3_PREFIX,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
    if ENCRYPTION_FILES_S3_BUCKET
    else {
        # FileSystemStorage, with each file and its directory entry fsynced on save
        "BACKEND": "encryption.storage.DurableFileSystemStorage",
        "OPTIONS": {
            "location": MEDIA_ROOT / "encrypted",
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    }
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
    "encrypted_files": _ENCRYPTED_FILES,
}

# Sessions live in the database so that sign-out and "end my other sessions" are real;
# with Redis they are also cached there, so a page view reads no session row.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if REDIS_URL
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
DEFAULT_EXCEPTION_REPORTER = "accounts.debug.SignedInSafeExceptionReporter"

# Security headers (all modes); the HTTPS-only ones below in production.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # __Host- cookies: secure, host-only, path=/ (no domain can override them).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    if TRUSTED_PROXY_COUNT > 0:  # only a proxy we trust may say the request was HTTPS
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# django-axes: lock a (user, IP) pair, not a whole clinic behind one NAT; cool-off, not
# permanent. The per-IP limit across many accounts is accounts.lockout's own counter.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = False  # reset after the second factor: accounts.lockout
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False


def _next_redis_db(url: str) -> str:
    """The same server, the next database number: the cache must never share the broker's
    database, or a cache clear would also drop queued tasks."""
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return parts._replace(path=f"/{(db + 1) % 16}").geturl()


REDIS_CACHE_URL = env.string("REDIS_CACHE_URL") or (_next_redis_db(REDIS_URL) if REDIS_URL else "")
if REDIS_CACHE_URL and REDIS_CACHE_URL == REDIS_URL:
    raise ConfigError("REDIS_CACHE_URL must name a different Redis database than REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": "portal",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: Redis when configured, otherwise eager (the demo).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.boolean("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
# With the broker down, a send must not stall for kombu's default retries: one quick try,
# then the on-commit hook gives up and the periodic sweeps pick the work up later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "audit-seal": {"task": "audit.tasks.seal_events", "schedule": 10.0},
    # Nightly, before the digest that reports it: every seal, checkpoint and anchor.
    "audit-verify": {
        "task": "audit.tasks.chain_verify_nightly",
        "schedule": crontab(hour=5, minute=30),
    },
    # Daily to the privacy officers: counts and checkpoint heads, another copy outside.
    "audit-digest": {
        "task": "accounts.tasks.audit_digest",
        "schedule": crontab(hour=6, minute=45),
    },
    # /readyz reports a deployment whose beat (or every worker) has stopped.
    "health-heartbeat": {"task": "health.tasks.heartbeat", "schedule": 30.0},
    "invitations-sweep": {"task": "accounts.tasks.invitations_sweep", "schedule": 120.0},
    "deliveries-sweep": {"task": "messaging.tasks.deliveries_sweep", "schedule": 60.0},
    # Daily, early in the organisation's working day; running it again alerts nobody twice.
    "record-deadline-alerts": {
        "task": "records.tasks.deadline_alerts",
        "schedule": crontab(hour=7, minute=0),
    },
    # Daily, before the working day: the parents' links a child's birthday narrowed or
    # ended are recorded and the proxy and the patient told; a second run tells no one.
    "proxy-ages": {
        "task": "accounts.tasks.proxy_ages_apply",
        "schedule": crontab(hour=6, minute=15),
    },
    "record-builds-sweep": {"task": "records.tasks.builds_sweep", "schedule": 120.0},
    # Nightly, outside working hours; a second run erases nothing twice.
    "retention-purge": {"task": "retention.tasks.purge", "schedule": crontab(hour=2, minute=30)},
    # Daily: privacy officers hear of a business associate agreement 30 days before renewal.
    "associate-renewal-alerts": {
        "task": "compliance.tasks.renewal_alerts",
        "schedule": crontab(hour=7, minute=5),
    },
}
CELERY_TIMEZONE = TIME_ZONE
# /readyz fails once beat's heartbeat (every 30 s, run by a worker) is older than this.
HEALTH_BEAT_MAX_AGE_SECONDS = env.integer("HEALTH_BEAT_MAX_AGE_SECONDS", 300, minimum=60)

# django-otp and passkeys.
OTP_TOTP_ISSUER = ORGANISATION_NAME
OTP_TOTP_THROTTLE_FACTOR = 1
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_WEBAUTHN_RP_ID = WEBAUTHN_RP_ID
OTP_WEBAUTHN_RP_NAME = ORGANISATION_NAME
OTP_WEBAUTHN_ALLOWED_ORIGINS = WEBAUTHN_ORIGINS

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO"},
    # Request bodies and form data never reach the log: 4xx lines carry only the path.
    "loggers": {
        "django.request": {"level": "ERROR"},
        "axes": {"level": "WARNING"},
        # PDF rendering: progress lines, and font-subsetting lines that list the glyphs a
        # letter or record package uses (the letters of a patient's name).
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "accounts.webauthn.StrictWebAuthnHelper"
