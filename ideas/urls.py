from django.urls import path

from . import views

app_name = "ideas"

urlpatterns = [
    path("jams/<slug:slug>/topics/<int:topic_id>/", views.topic, name="topic"),
    path("jams/<slug:slug>/ideas/<int:idea_id>/", views.idea, name="idea"),
    path("jams/<slug:slug>/ideas/<int:idea_id>/pin/", views.idea_pin, name="pin"),
    path("jams/<slug:slug>/ideas/<int:idea_id>/merge/", views.idea_merge, name="merge"),
    path("jams/<slug:slug>/posts/<int:post_id>/edit/", views.post_edit, name="edit"),
    path("jams/<slug:slug>/posts/<int:post_id>/react/", views.post_react, name="react"),
    path("jams/<slug:slug>/posts/<int:post_id>/flag/", views.post_flag, name="flag"),
    path("jams/<slug:slug>/posts/<int:post_id>/hide/", views.post_hide, name="hide"),
    path("jams/<slug:slug>/search/", views.search, name="search"),
    path("jams/<slug:slug>/moderation/", views.moderation, name="moderation"),
    path("jams/<slug:slug>/alerts/", views.alert, name="alert"),
]
