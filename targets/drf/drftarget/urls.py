"""URLs: DRF's token view, registration, `me`, the notes ViewSet through a DefaultRouter, and the
OpenAPI document (drf-spectacular) at /api/schema/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from notes.views import NoteViewSet, me, register

router = DefaultRouter()
router.register("notes", NoteViewSet, basename="note")

urlpatterns = [
    path("api-token-auth/", obtain_auth_token),
    path("api/register/", register),
    path("api/me/", me),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/", include(router.urls)),
]
