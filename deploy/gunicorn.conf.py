"""gunicorn settings for the portal's web processes (`gunicorn -c deploy/gunicorn.conf.py`).

Read from the same environment as the application (the systemd units load
/etc/portal/portal.env), so gunicorn and Django agree on which proxy may say "https".
"""

import os

# One instance per unit (portal-web@8001, portal-web@8002 ...), behind nginx on loopback.
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8001")
wsgi_app = "config.wsgi:application"

# Threads: most of a request's time is the database and the encryption of uploads, both
# of which release the GIL. Two workers per core and four threads each is the start
# point; `make bench` measures the pages (see README "Running in production").
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# nginx buffers request bodies (100 MiB of attachments) before it passes them on, so a
# slow upload never holds a worker; the timeout covers encrypting that much and building
# the reply. Downloads stream, and nginx buffers them toward slow clients.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5  # longer than nginx's upstream keepalive_timeout (deploy/nginx)
# Recycle workers now and then, so a slow leak in any library never grows unbounded.
max_requests = 2000
max_requests_jitter = 200

# HTTPS is decided by the proxy. Only the addresses in TRUSTED_PROXY_ADDRESSES may set
# X-Forwarded-Proto, exactly as Django's audit.middleware.TrustedProxyMiddleware reads it.
_trusted = os.environ.get("TRUSTED_PROXY_ADDRESSES", "127.0.0.1,::1")
if int(os.environ.get("TRUSTED_PROXY_COUNT", "0") or 0) > 0:
    forwarded_allow_ips = _trusted
    secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
else:
    forwarded_allow_ips = ""
    secure_scheme_headers = {}

# Access log: method, path (ids only: no names or query strings), status, size, time.
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = "info"
proc_name = "portal-web"
# gunicorn's control socket (one shared path in $HOME per user) is not used: systemd
# manages the instances, and several instances on one host would fight over it.
control_socket_disable = True
# Drop the request-line limit to what our URLs need; refuse oversized headers early.
limit_request_line = 4094
limit_request_fields = 100
