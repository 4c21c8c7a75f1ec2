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
step "migrations are complete"; $PY manage.py makemigrations --check --dry-run
step "check --deploy under production settings"
APP_MODE=production \
  SECRET_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(64))')" \
  AUDIT_SEAL_KEY="$($PY -c 'import secrets; print(secrets.token_urlsafe(48))')" \
  ENCRYPTION_KEYS="ci:$($PY -c 'import secrets; print(secrets.token_urlsafe(32))')" \
  ALLOWED_HOSTS=portal.example.org PORTAL_BASE_URL=https://portal.example.org \
  WEBAUTHN_RP_ID=portal.example.org REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}" \
  EMAIL_USE_TLS=true \
  $PY manage.py check --deploy --fail-level WARNING
step "pytest"
# A coverage floor guards against untested code landing (STYLE.md: mechanical guards);
# it applies to the whole suite, not to a run narrowed with pytest arguments.
floor=()
[ $# -eq 0 ] && floor=(--cov-fail-under=85)
$PY -m pytest --cov --cov-report=term:skip-covered "${floor[@]}" "$@"
