"""Forms. Each form validates its own input and writes nothing but its model."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class LoginForm(AuthenticationForm):
    """Django's login form with a server-side username length check.

    AuthenticationForm sets max_length only on the widget, so an overlong
    username would otherwise reach the database layer.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(MaxLengthValidator(150))
        self.fields["username"].widget.attrs["autocomplete"] = "username"
