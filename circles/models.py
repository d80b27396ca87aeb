"""Circles: private groups whose polls only their members can see and vote in."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

INVITE_BYTES = 24  # 32 URL-safe characters: an invite link cannot be guessed


def new_invite_code() -> str:
    return secrets.token_urlsafe(INVITE_BYTES)


class Circle(models.Model):
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=90, unique=True)
    description = models.TextField(max_length=1000, blank=True)
    max_members = models.PositiveIntegerField(default=50)
    invite_code = models.CharField(max_length=64, unique=True, default=new_invite_code)
    invite_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="After this the invite link stops working."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="circles_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def invite_valid(self, now=None) -> bool:
        now = now or timezone.now()
        return self.invite_expires_at is None or self.invite_expires_at > now


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    circle = models.ForeignKey(Circle, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="circle_memberships"
    )
    role = models.CharField(max_length=6, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["circle", "user"], name="membership_once"),
        ]

    def __str__(self):
        return f"{self.user} in {self.circle}"
