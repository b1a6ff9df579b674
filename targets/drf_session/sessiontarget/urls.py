"""URLs: the CSRF cookie, signup, login, logout, then targets/drf's `me` and notes ViewSet."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from notes.views import NoteViewSet, me
from sessiontarget.views import CsrfView, LoginView, LogoutView, SignupView

router = DefaultRouter()
router.register("notes", NoteViewSet, basename="note")

urlpatterns = [
    path("api/csrf/", CsrfView.as_view()),
    path("api/auth/signup/", SignupView.as_view()),
    path("api/auth/login/", LoginView.as_view()),
    path("api/auth/logout/", LogoutView.as_view()),
    path("api/me/", me),
    path("api/", include(router.urls)),
]
