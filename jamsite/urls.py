from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

# The admin signs in through allauth (rate limits, MFA) rather than its own form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("me/", include("accounts.urls")),
    path("", include("jams.urls")),
    path("", include("ideas.urls")),
    path("", include("voting.urls")),
    path("", include("analysis.urls")),
    path("", include("community.urls")),
]

# Uploaded photos, in development only (static() adds nothing unless DEBUG).
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
