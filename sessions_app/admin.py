"""Django admin, for superusers only (clinic admins use the app's own pages)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import (
    AuditEvent,
    Clinic,
    Course,
    Goal,
    GoalReview,
    MeasureResponse,
    Patient,
    ProblemAreaFocus,
    RelationshipEntry,
    SessionAddendum,
    TherapySession,
    User,
)


@admin.register(Clinic)
class ClinicAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "clinic", "is_active"]
    list_filter = ["role", "clinic", "is_active"]
    list_select_related = ["clinic"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Clinic", {"fields": ("role", "clinic")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("Clinic", {"fields": ("role", "clinic")}))


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ["family_name", "given_name", "clinic", "therapist", "archived_at"]
    list_filter = ["clinic"]
    list_select_related = ["clinic", "therapist"]
    search_fields = ["family_name", "given_name"]
    raw_id_fields = ["portal_user"]


@admin.register(Course)
class CourseAdmin(SimpleHistoryAdmin):
    list_display = ["patient", "therapist", "status", "planned_sessions", "start_date"]
    list_filter = ["status"]
    list_select_related = ["patient", "therapist"]
    raw_id_fields = ["patient"]


@admin.register(ProblemAreaFocus)
class ProblemAreaFocusAdmin(SimpleHistoryAdmin):
    list_display = ["course", "area", "is_primary", "dispute_stage"]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course", "person"]


@admin.register(TherapySession)
class TherapySessionAdmin(SimpleHistoryAdmin):
    list_display = ["course", "number", "date", "attendance", "phase", "signed_at"]
    list_filter = ["attendance", "phase"]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course", "signed_by"]
    filter_horizontal = ["foci", "people_discussed", "joint_attendees"]


@admin.register(SessionAddendum)
class SessionAddendumAdmin(admin.ModelAdmin):
    list_display = ["session", "author", "created_at"]
    list_select_related = ["session__course__patient", "author"]
    raw_id_fields = ["session", "author"]


@admin.register(Goal)
class GoalAdmin(SimpleHistoryAdmin):
    list_display = ["text", "focus", "status", "visible_to_patient"]
    list_select_related = ["focus__course__patient"]
    raw_id_fields = ["focus"]


@admin.register(GoalReview)
class GoalReviewAdmin(admin.ModelAdmin):
    list_display = ["goal", "session", "progress"]
    list_select_related = ["goal", "session__course__patient"]
    raw_id_fields = ["goal", "session"]


@admin.register(RelationshipEntry)
class RelationshipEntryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "relationship", "closeness_ring", "course"]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course"]


@admin.register(MeasureResponse)
class MeasureResponseAdmin(SimpleHistoryAdmin):
    list_display = ["patient", "instrument", "total", "band", "item9_positive", "taken_on"]
    list_filter = ["instrument", "band"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "course", "session", "recorded_by"]
    readonly_fields = ["total", "band", "item9_positive"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only."""

    list_display = ["at", "username", "role", "action", "object_type", "object_id", "ip"]
    list_filter = ["action", "role"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
