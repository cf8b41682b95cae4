"""Django admin, for superusers only (clinic admins use the app's own pages)."""

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
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

# --- Signed sessions are read-only in Django admin too (issue 5) --------------------------------
# The model layer refuses every write to a signed session (SignedSessionLocked); here the admin
# says so up front: the change page of a signed session, and of the scores and goal reviews
# taken in it, is read-only, a POST is 403 and deleting it is refused, instead of a 500.


def _session_signed(session_id: int | None) -> bool:
    return bool(session_id) and TherapySession.objects.filter(pk=session_id, signed_at__isnull=False).exists()


class LockedHistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose "revert to this version" POST needs change permission on the record:
    simple-history only hides the button, and would save (here: fail with a 500) on a POST."""

    def is_locked(self, obj) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and self.is_locked(obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj is not None and self.is_locked(obj))

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            current = self.get_object(request, unquote(object_id))
            if current is None or not self.has_change_permission(request, current):
                raise PermissionDenied("This record cannot be changed.")
        return super().history_form_view(request, object_id, version_id, extra_context)


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
class TherapySessionAdmin(LockedHistoryAdmin):
    list_display = ["course", "number", "date", "attendance", "phase", "signed_at"]
    list_filter = ["attendance", "phase"]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course", "signed_by"]
    filter_horizontal = ["foci", "people_discussed", "joint_attendees"]

    def is_locked(self, obj: TherapySession) -> bool:
        return obj.is_signed


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

    def has_change_permission(self, request, obj=None) -> bool:
        locked = obj is not None and _session_signed(obj.session_id)
        return super().has_change_permission(request, obj) and not locked

    def has_delete_permission(self, request, obj=None) -> bool:
        locked = obj is not None and _session_signed(obj.session_id)
        return super().has_delete_permission(request, obj) and not locked


@admin.register(RelationshipEntry)
class RelationshipEntryAdmin(SimpleHistoryAdmin):
    list_display = ["name", "relationship", "closeness_ring", "course"]
    list_select_related = ["course__patient"]
    raw_id_fields = ["course"]


@admin.register(MeasureResponse)
class MeasureResponseAdmin(LockedHistoryAdmin):
    list_display = ["patient", "instrument", "total", "band", "item9_positive", "taken_on"]
    list_filter = ["instrument", "band"]
    list_select_related = ["patient"]
    raw_id_fields = ["patient", "course", "session", "recorded_by"]
    readonly_fields = ["total", "band", "item9_positive"]

    def is_locked(self, obj: MeasureResponse) -> bool:
        return _session_signed(obj.session_id)


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
