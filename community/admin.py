from django.contrib import admin

from .models import (
    EmailDelivery,
    FacilitatorShift,
    GuidelinesAcceptance,
    HelpRequest,
    HostedSession,
    JamCommunity,
    NotificationPreference,
    SessionAnswer,
)


@admin.register(HelpRequest)
class HelpRequestAdmin(admin.ModelAdmin[HelpRequest]):
    list_display = ("post", "jam", "reason", "status", "detected_at", "claimed_by")
    list_filter = ("jam", "status", "reason")


@admin.register(HostedSession)
class HostedSessionAdmin(admin.ModelAdmin[HostedSession]):
    list_display = ("title", "jam", "topic", "host", "starts_at", "ends_at", "announced_at")
    list_filter = ("jam",)


@admin.register(FacilitatorShift)
class FacilitatorShiftAdmin(admin.ModelAdmin[FacilitatorShift]):
    list_display = ("facilitator", "jam", "started_at", "ended_at")
    list_filter = ("jam",)


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin[EmailDelivery]):
    list_display = ("user", "key", "sent_at")
    readonly_fields = ("user", "key", "sent_at")


admin.site.register(JamCommunity)
admin.site.register(GuidelinesAcceptance)
admin.site.register(SessionAnswer)
admin.site.register(NotificationPreference)
