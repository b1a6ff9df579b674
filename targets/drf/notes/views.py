"""Views: registration (open), `me`, and the notes ViewSet (scoped to the caller)."""

from django.contrib.auth.models import User
from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from notes.identity import context
from notes.models import Note
from notes.serializers import NoteSerializer, RegisterSerializer, UserSerializer


# The document describes the function views (drf-spectacular cannot see their serializers).
@extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
@api_view(["POST"])
@permission_classes([AllowAny])
def register(request):
    serializer = RegisterSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    try:
        user = serializer.save()
    except IntegrityError:  # a concurrent registration of the same username won the race
        raise ValidationError({"username": ["A user with that username already exists."]})
    return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: UserSerializer})
@api_view(["GET"])
def me(request):
    user = User.objects.get(pk=context.caller_id(request.user.id))
    return Response(UserSerializer(user).data)


class NoteViewSet(viewsets.ModelViewSet):
    """CRUD on the caller's notes; another user's note is 404 (not in the queryset)."""

    serializer_class = NoteSerializer

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        self.caller_id = context.caller_id(request.user.id)

    def get_queryset(self):
        return Note.objects.filter(owner_id=self.caller_id)

    def perform_create(self, serializer):
        serializer.save(owner_id=self.caller_id)
