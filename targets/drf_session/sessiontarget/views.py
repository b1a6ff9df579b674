"""The session views of a single-page front end, as DRF's docs set them up (AJAX, CSRF and
session authentication): a GET that sets the CSRF cookie, then signup and login views that are
CSRF-protected and call `django.contrib.auth.login` (which starts the session and rotates the
CSRF token: the client must read the `csrftoken` cookie again), and logout.

DRF views are CSRF-exempt as such (`APIView.as_view`), and `SessionAuthentication` checks CSRF
only once a session is logged in, so the views that log in protect themselves with Django's own
`csrf_protect` (on `dispatch`, where the request is still Django's).
"""

from django.contrib.auth import authenticate, login, logout
from django.db import IntegrityError
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from notes.serializers import RegisterSerializer, UserSerializer


def csrf_failure(request, reason=""):
    """`CSRF_FAILURE_VIEW`: a refused signup or login answers JSON in DRF's words (403 `{"detail":
    "CSRF Failed: CSRF cookie not set."}`), as an API's client reads it, not Django's HTML page."""
    return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)


@method_decorator(ensure_csrf_cookie, name="dispatch")
class CsrfView(APIView):
    """`GET /api/csrf/`: 200, and the `csrftoken` cookie."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"detail": "CSRF cookie set"})


@method_decorator(csrf_protect, name="dispatch")
class SignupView(APIView):
    """`POST /api/auth/signup/` {username, email, password}: 201 the user, logged in."""

    permission_classes = [AllowAny]

    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = serializer.save()
        except IntegrityError:  # a concurrent signup of the same username won the race
            raise ValidationError({"username": ["A user with that username already exists."]})
        login(request, user)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@method_decorator(csrf_protect, name="dispatch")
class LoginView(APIView):
    """`POST /api/auth/login/` {username, password}: 200 the user, and a new session."""

    permission_classes = [AllowAny]

    def post(self, request):
        user = authenticate(
            request,
            username=request.data.get("username"),
            password=request.data.get("password"),
        )
        if user is None:
            return Response(
                {"non_field_errors": ["Unable to log in with provided credentials."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        login(request, user)
        return Response(UserSerializer(user).data)


class LogoutView(APIView):
    """`POST /api/auth/logout/`: 204; the session ends (its cookie is deleted)."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)
