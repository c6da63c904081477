from django.urls import path

from .consumers import JamConsumer

websocket_urlpatterns = [
    path("ws/jams/<slug:slug>/", JamConsumer.as_asgi()),
]
