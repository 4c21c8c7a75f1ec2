#!/usr/bin/env bash
# `make test`: find or start the services, then every check CI runs, in order.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

eval "$($PY scripts/services.py)"
export APP_MODE=test CELERY_TASK_ALWAYS_EAGER=true

step() { printf '\n==> %s\n' "$*"; }

step "ruff (lint)";          .venv/bin/ruff check .
step "ruff (format)";        .venv/bin/ruff format --check .
step "mypy";                 .venv/bin/mypy .
step "layers (import-linter)"; .venv/bin/lint-imports --no-logo --no-cache
step "translations (compile)"; $PY scripts/messages.py
step "migrations are complete"; $PY manage.py makemigrations --check --dry-run
step "check --deploy under production settings, as the application's role"
# A throwaway signing certificate stands in for the organisation's (records.E001 loads it).
signing_dir="$(mktemp -d)"
trap 'rm -rf "$signing_dir"; $PY scripts/db_split.py drop' EXIT
$PY manage.py records_demo_certificate --directory "$signing_dir" >/dev/null
$PY manage.py audit_signing_key --new "$signing_dir/audit-signing-key.pem" >/dev/null 2>&1
# Production's two roles on a scratch database: migrated and granted as the owner, then
# checked as the application's role (audit.W001/W002 if it could rewrite the trail).
eval "$($PY scripts/db_split.py create)"
DATABASE_OWNER_URL="$SPLIT_OWNER_URL" DATABASE_URL="$SPLIT_APP_URL" \
  $PY manage.py migrate --no-input -v 0
DATABASE_OWNER_URL="$SPLIT_OWNER_URL" DATABASE_URL="$SPLIT_APP_URL" $PY manage.py db_grants
DATABASE_URL="$SPLIT_APP_URL" APP_MODE=production \
  RECORDS_SIGNING_CERT_FILE="$signing_dir/demo-cert.pem" \
  RECORDS_SIGNING_KEY_FILE="$signing_dir/demo-key.pem" \
  AUDIT_SIGNING_KEY_FILE="$signing_dir/audit-signing-key.pem" \
  AUDIT_ANCHOR_SINK=file AUDIT_ANCHOR_PATH="$signing_dir/audit-anchors.jsonl" \
  SECRET_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  AUDIT_SEAL_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(48))')" \
  ENCRYPTION_KEYS="ci:$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  ALLOWED_HOSTS=portal.example.org PORTAL_BASE_URL=https://portal.example.org \
  WEBAUTHN_RP_ID=portal.example.org REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" \
  EMAIL_USE_TLS=true RECORDS_PRIVACY_CONTACT="The Privacy Officer, (555) 010-0100" \
  $PY manage.py check --deploy --fail-level WARNING
step "pytest"
# A coverage floor guards against untested code landing (STYLE.md: mechanical guards);
# it applies to the whole suite, not to a run narrowed with pytest arguments.
floor=()
[ $# -eq 0 ] && floor=(--cov-fail-under=90)
$PY -m pytest --cov --cov-report=term:skip-covered "${floor[@]}" "$@"
