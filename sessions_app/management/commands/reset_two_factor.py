"""Remove an account's authenticator and backup codes (a lost phone, and no clinic admin to ask).

Usage: python manage.py reset_two_factor USERNAME

The account signs in with its password alone next time and, where
two-factor authentication is required, sets up a new authenticator straight
away. Clinic admins do the same for their staff from the staff page.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from sessions_app import two_factor
from sessions_app.models import AuditEvent, User


class Command(BaseCommand):
    help = "Remove an account's two-factor authenticator and backup codes."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account with the username {username!r}.")
        if not two_factor.has_authenticator(user):
            self.stdout.write(f"{username} has no two-factor authenticator; nothing to do.")
            return
        two_factor.remove(user)
        # No request and no signed-in actor: the row names the account and the command.
        AuditEvent.objects.create(
            username=user.username,
            role=user.role,
            clinic_id=user.clinic_id,
            action=AuditEvent.Action.DELETE,
            object_type="TOTPDevice",
            object_id=str(user.public_id),
            path="manage.py reset_two_factor",
        )
        self.stdout.write(self.style.SUCCESS(f"Two-factor sign-in of {username} reset."))
