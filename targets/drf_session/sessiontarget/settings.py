"""Settings of the DRF session target: targets/drf's, with a browser's kind of login.

What changes from drftarget.settings (everything else is the same: SQLite, JSON only,
PageNumberPagination with PAGE_SIZE 100, the fast password hasher, the logging):
- sessions (`django.contrib.sessions`, database-backed, the `sessionid` cookie) and
  `AuthenticationMiddleware`;
- Django's own `CsrfViewMiddleware` (the `csrftoken` cookie, the `X-CSRFToken` header): DRF's
  `SessionAuthentication` enforces it on every unsafe request of a logged-in session, and the
  signup and login views are `csrf_protect`ed, as DRF's docs advise for an AJAX front end;
- `SessionAuthentication` as the only authentication class (no token app);
- a JSON `CSRF_FAILURE_VIEW`, so every CSRF refusal reads `{"detail": "CSRF Failed: ..."}`.
"""

import os

from drftarget.settings import *  # noqa: F403 (the base settings, extended below)
from drftarget.settings import REST_FRAMEWORK

ROOT_URLCONF = "sessiontarget.urls"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "rest_framework",
    "notes",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

# RACEBENCH_SESSION_AGE=S ends every session S seconds after its login (Django's own expiry,
# default two weeks), so a test sees the server end sessions mid-run.
SESSION_COOKIE_AGE = int(os.environ.get("RACEBENCH_SESSION_AGE", str(60 * 60 * 24 * 14)))

# A CSRF refusal of the csrf_protect-ed views answers JSON, like DRF's own CSRF refusals.
CSRF_FAILURE_VIEW = "sessiontarget.views.csrf_failure"

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}
