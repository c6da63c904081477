from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

# The admin signs in through allauth (rate limits, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("me/", include("accounts.urls")),
    path("", include("jams.urls")),
    path("", include("ideas.urls")),
    path("", include("voting.urls")),
    path("", include("analysis.urls")),
]
