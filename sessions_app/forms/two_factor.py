"""Forms of the two-factor pages: a code, and the password again before a change."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest

from sessions_app.models import User

CODE_MAX_LENGTH = 20  # a six-digit code or a backup code, with room for spaces and dashes


class CodeForm(forms.Form):
    """One code: six digits from the authenticator app, or a backup code where allowed."""

    code = forms.CharField(
        label="Code",
        max_length=CODE_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, label: str = "Code", help_text: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].label = label
        self.fields["code"].help_text = help_text


class PasswordConfirmForm(forms.Form):
    """The account's password again before a two-factor change (ASVS 7.5.1).

    Checked through `authenticate`, so wrong guesses count toward the sign-in
    lockout exactly like failures on the sign-in page.
    """

    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, request: HttpRequest, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=password)
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError("That is not your password.", code="wrong_password")
        return password
