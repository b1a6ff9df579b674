"""Settings of the DRF target: DRF's own conventions, tuned for a load test on one machine.

- TokenAuthentication (`Authorization: Token <key>`), IsAuthenticated by default;
- PageNumberPagination (`?page=N`, PAGE_SIZE 100): lists answer {count, next, previous, results};
- JSON only (no browsable API, no templates);
- drf-spectacular serves the OpenAPI 3.0 document at /api/schema/ (YAML; `?format=json` for
  JSON), open to anyone, as a user's DRF app would (`loadgen describe` reads it);
- MD5PasswordHasher: fast, as Django's docs advise for tests (never in production);
- SQLite in WAL mode, IMMEDIATE transactions and a 30 s busy timeout, so 20 concurrent users on
  8 server threads never see "database is locked".
The database file comes from RACEBENCH_DRF_DB (serve.py sets it from --db).
"""

import os
import secrets

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "drftarget.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "notes",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["RACEBENCH_DRF_DB"],
        # One connection per server thread, kept: no reconnect (and PRAGMAs) per request.
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        },
    }
}

SPECTACULAR_SETTINGS = {
    "TITLE": "racebench DRF target",
    "VERSION": "1.0.0",
    # The document's own endpoint stays out of the document.
    "SERVE_INCLUDE_SCHEMA": False,
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
}

# Errors to stderr; no line per 4xx (a load test makes thousands on purpose).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django": {"handlers": ["stderr"], "level": "ERROR"},
        "waitress": {"handlers": ["stderr"], "level": "ERROR"},
    },
}
