"""Root URLs: auth, health check, Django admin (superusers) and the app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from sessions_app.auth_middleware import two_factor_exempt
from sessions_app.forms.auth import LoginForm
from sessions_app.views.account import AuditedPasswordChangeView
from sessions_app.views.common import healthz

auth_urls = [
    path(
        "login/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    # Signing out needs no second factor: someone stuck at the code page can leave.
    path("logout/", two_factor_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path("password/change/", AuditedPasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", include(auth_urls)),
    path("healthz", healthz, name="healthz"),
    path("django-admin/", admin.site.urls),
    path("", include("sessions_app.urls")),
]
