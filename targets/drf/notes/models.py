"""A note belongs to one user; every query of the API is scoped to its owner."""

from django.conf import settings
from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="notes", on_delete=models.CASCADE
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
