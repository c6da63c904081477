from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("language/", views.language_set, name="language"),
    path("photo/", views.photo, name="photo"),
    path("data/", views.data_download, name="data"),
    path("delete/", views.delete, name="delete"),
]
