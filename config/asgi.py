import os

from django.core.asgi import get_asgi_application

from support.env import ConfigError, owner_credentials_problem

if problem := owner_credentials_problem("the web server", os.environ):
    raise ConfigError(problem)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
