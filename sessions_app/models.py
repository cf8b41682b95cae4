"""The IPT domain: clinics, people, courses, sessions, goals, inventory, measures.

Names are fixed by DESIGN.md §4. Clinical rules live in `ipt.py` and
`measures.py`; models call them and add database constraints for the
invariants a form could miss.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from sessions_app import ipt, measures
from sessions_app.querysets import CourseQuerySet, PatientQuerySet, TherapySessionQuerySet


class PublicIdModel(models.Model):
    """A model that is reachable from a URL by a UUID, never by its primary key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class Clinic(PublicIdModel):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    class Role(models.TextChoices):
        THERAPIST = "therapist", "Therapist"
        CLINIC_ADMIN = "clinic_admin", "Clinic admin"
        PATIENT = "patient", "Patient"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Blank only for superusers, who use Django admin and belong to no clinic.
    role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="users")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_role_clinic_or_superuser",
                condition=(
                    Q(is_superuser=True, role="", clinic__isnull=True)
                    | (Q(is_superuser=False, clinic__isnull=False) & ~Q(role=""))
                ),
                violation_error_message=(
                    "Every account except a superuser has a role and a clinic; superusers have neither."
                ),
            ),
        ]

    @property
    def is_therapist(self) -> bool:
        return self.role == self.Role.THERAPIST

    @property
    def is_clinic_admin(self) -> bool:
        return self.role == self.Role.CLINIC_ADMIN

    @property
    def is_patient(self) -> bool:
        return self.role == self.Role.PATIENT

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class Patient(PublicIdModel):
    class Condition(models.TextChoices):
        DEPRESSION = "depression", "Depression"
        ANXIETY = "anxiety", "Anxiety"
        EATING_DISORDER = "eating_disorder", "Eating disorder"
        PTSD = "ptsd", "PTSD"
        BIPOLAR = "bipolar", "Bipolar disorder"
        OTHER = "other", "Other"

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    therapist = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="patients",
        limit_choices_to={"role": User.Role.THERAPIST},
    )
    portal_user = models.OneToOneField(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient_record",
        limit_choices_to={"role": User.Role.PATIENT},
    )
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    # A list of Condition values; a patient often has more than one.
    conditions = models.JSONField(default=list, blank=True)
    conditions_other = models.CharField("other condition", max_length=200, blank=True)
    medication = models.TextField(blank=True)
    medication_reviewed_on = models.DateField(null=True, blank=True)
    presenting_concerns = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name"]
        indexes = [models.Index(fields=["clinic", "therapist"])]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return reverse("patient-detail", kwargs={"public_id": self.public_id})

    def clean(self) -> None:
        unknown = set(self.conditions or []) - set(self.Condition.values)
        if unknown:
            raise ValidationError({"conditions": f"Unknown condition(s): {', '.join(sorted(unknown))}."})
        if self.therapist_id and self.clinic_id and self.therapist.clinic_id != self.clinic_id:
            raise ValidationError({"therapist": "The therapist must work at the patient's clinic."})

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def condition_labels(self) -> list[str]:
        labels = [self.Condition(code).label for code in self.conditions if code in self.Condition.values]
        if self.conditions_other:
            labels.append(self.conditions_other)
        return labels


class Course(PublicIdModel):
    class Format(models.TextChoices):
        INDIVIDUAL = "individual", "Individual IPT"

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        TWICE_WEEKLY = "twice_weekly", "Twice weekly"
        FORTNIGHTLY = "fortnightly", "Fortnightly"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        DISCONTINUED = "discontinued", "Discontinued"

    class Continuation(models.TextChoices):
        NONE = "none", "No further treatment"
        MAINTENANCE = "maintenance", "Maintenance IPT"
        REFERRAL = "referral", "Referral"
        OTHER_TREATMENT = "other_treatment", "Other treatment (non-response)"

    FREQUENCY_DAYS = {Frequency.WEEKLY: 7, Frequency.TWICE_WEEKLY: 3.5, Frequency.FORTNIGHTLY: 14}

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    therapist = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="courses",
        limit_choices_to={"role": User.Role.THERAPIST},
    )
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.INDIVIDUAL)
    planned_sessions = models.PositiveSmallIntegerField(default=12)
    frequency = models.CharField(max_length=20, choices=Frequency.choices, default=Frequency.WEEKLY)
    start_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    share_scores_with_patient = models.BooleanField(default=False)

    psychoeducation_on = models.DateField("psychoeducation and sick role discussed on", null=True, blank=True)
    formulation = models.TextField(blank=True)
    formulation_shared_on = models.DateField(null=True, blank=True)
    formulation_agreed = models.BooleanField("patient agreed the formulation", default=False)
    contract_date = models.DateField(null=True, blank=True)
    # Set when the initial tasks are done, or earlier with a reason: sessions
    # from then on default to the middle phase.
    middle_phase_started_on = models.DateField(null=True, blank=True)
    middle_phase_override_reason = models.TextField(blank=True)

    ending_discussed_on = models.DateField(null=True, blank=True)
    feelings_about_ending = models.TextField(blank=True)
    gains = models.TextField("gains credited to the patient", blank=True)
    relapse_warning_signs = models.TextField(blank=True)
    coping_plan = models.TextField(blank=True)
    continuation_decision = models.CharField(max_length=20, choices=Continuation.choices, blank=True)
    end_date = models.DateField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date"]
        indexes = [models.Index(fields=["therapist", "status"])]
        constraints = [
            models.CheckConstraint(
                name="course_planned_sessions_in_range",
                condition=Q(
                    planned_sessions__gte=ipt.MIN_PLANNED_SESSIONS,
                    planned_sessions__lte=ipt.MAX_PLANNED_SESSIONS,
                ),
                violation_error_message=(
                    f"Individual IPT plans {ipt.MIN_PLANNED_SESSIONS}–{ipt.MAX_PLANNED_SESSIONS} sessions."
                ),
            ),
            models.CheckConstraint(
                name="course_end_date_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                violation_error_message="A course cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} — IPT from {self.start_date:%d %b %Y}"

    def get_absolute_url(self) -> str:
        return reverse("course-detail", kwargs={"public_id": self.public_id})

    @property
    def planned_end_date(self) -> date:
        """Date of the last planned session if the schedule holds."""
        interval = self.FREQUENCY_DAYS[self.frequency]
        return self.start_date + timedelta(days=round(interval * (self.planned_sessions - 1)))

    def clean(self) -> None:
        if self.patient_id and self.therapist_id and self.therapist.clinic_id != self.patient.clinic_id:
            raise ValidationError({"therapist": "The therapist must work at the patient's clinic."})

    def default_phase_for(self, number: int) -> str:
        """The phase a session with this number starts in (the therapist may override it)."""
        return ipt.default_phase(
            number, self.planned_sessions, initial_closed=self.middle_phase_started_on is not None
        )


class RelationshipEntry(PublicIdModel):
    """One person in the interpersonal inventory (ipt-domain.md §3.1)."""

    class Relationship(models.TextChoices):
        PARTNER = "partner", "Partner"
        PARENT = "parent", "Parent"
        CHILD = "child", "Child"
        SIBLING = "sibling", "Sibling"
        OTHER_FAMILY = "other_family", "Other family"
        FRIEND = "friend", "Friend"
        COWORKER = "coworker", "Co-worker"
        OTHER = "other", "Other"

    class Contact(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        RARELY = "rarely", "Rarely"
        NONE = "none", "No contact"

    class ExpectationsMet(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="relationships")
    name = models.CharField("name or label", max_length=100)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    closeness_ring = models.PositiveSmallIntegerField(default=2, help_text="1 = closest, 3 = furthest.")
    contact = models.CharField(max_length=20, choices=Contact.choices, blank=True)
    activities = models.TextField("activities together", blank=True)
    positives = models.TextField("positive aspects", blank=True)
    negatives = models.TextField("negative aspects", blank=True)
    conflicts = models.TextField("conflict: how often, what happens, resolved?", blank=True)
    knows_patient_low = models.BooleanField("knows the patient feels low", null=True, blank=True)
    desired_change = models.TextField("would like to change", blank=True)
    expectations_met = models.CharField(max_length=10, choices=ExpectationsMet.choices, blank=True)
    is_deceased = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["closeness_ring", "name"]
        verbose_name_plural = "relationship entries"
        constraints = [
            models.CheckConstraint(
                name="relationship_ring_1_to_3",
                condition=Q(closeness_ring__gte=1, closeness_ring__lte=3),
                violation_error_message="The closeness ring is 1 (closest), 2 or 3.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_relationship_display()})"


class ProblemAreaFocus(PublicIdModel):
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="foci")
    area = models.CharField(max_length=30, choices=ipt.ProblemArea.choices)
    is_primary = models.BooleanField(default=False)
    rationale = models.TextField(blank=True)
    person = models.ForeignKey(
        RelationshipEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="foci",
        help_text="The person involved: the other party, or the person who died.",
    )
    dispute_stage = models.CharField(max_length=20, choices=ipt.DisputeStage.choices, blank=True)
    old_role = models.CharField(max_length=200, blank=True)
    new_role = models.CharField(max_length=200, blank=True)
    change_date = models.DateField("date of the change", null=True, blank=True)
    date_of_death = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "created_at"]
        verbose_name_plural = "problem area foci"
        constraints = [
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(is_primary=True),
                name="focus_one_primary_per_course",
                violation_error_message="A course has one primary problem area.",
            ),
            models.UniqueConstraint(
                fields=["course", "area"],
                name="focus_area_once_per_course",
                violation_error_message="This problem area is already a focus of the course.",
            ),
            models.CheckConstraint(
                name="focus_dispute_has_stage",
                condition=(
                    (Q(area=ipt.ProblemArea.ROLE_DISPUTE) & ~Q(dispute_stage=""))
                    | (~Q(area=ipt.ProblemArea.ROLE_DISPUTE) & Q(dispute_stage=""))
                ),
                violation_error_message="A role dispute needs its stage; other areas have none.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_area_display()}{' (primary)' if self.is_primary else ''}"

    @property
    def guide(self) -> ipt.AreaGuide:
        return ipt.AREA_GUIDES[self.area]


class TherapySession(PublicIdModel):
    class Modality(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIDEO = "video", "Video"
        PHONE = "phone", "Phone"

    class Attendance(models.TextChoices):
        ATTENDED = "attended", "Attended"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "Did not attend"

    class TaskType(models.TextChoices):
        JOURNAL = "journal", "Journal"
        COMMUNICATION_PRACTICE = "communication_practice", "Communication practice"
        BOUNDARY_SETTING = "boundary_setting", "Boundary setting"
        RECONNECTING = "reconnecting", "Reconnecting with someone"
        OTHER = "other", "Other"

    class TaskOutcome(models.TextChoices):
        DONE = "done", "Done"
        PARTLY = "partly", "Partly done"
        NOT_DONE = "not_done", "Not done"
        NOT_APPLICABLE = "n_a", "Not applicable"

    class Ideation(models.TextChoices):
        NONE = "none", "None"
        PASSIVE = "passive", "Passive"
        ACTIVE = "active", "Active"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="sessions")
    # Counts attended sessions only; cancelled and no-show sessions have none.
    number = models.PositiveSmallIntegerField(null=True, blank=True)
    date = models.DateField()
    duration_minutes = models.PositiveSmallIntegerField(default=50)
    modality = models.CharField(max_length=20, choices=Modality.choices, default=Modality.IN_PERSON)
    attendance = models.CharField(max_length=20, choices=Attendance.choices, default=Attendance.ATTENDED)
    phase = models.CharField(max_length=20, choices=ipt.Phase.choices)
    phase_override_reason = models.TextField(blank=True)

    foci = models.ManyToManyField(ProblemAreaFocus, blank=True, related_name="sessions")
    strategies = models.JSONField(default=list, blank=True)
    techniques = models.JSONField(default=list, blank=True)
    dispute_stage = models.CharField(max_length=20, choices=ipt.DisputeStage.choices, blank=True)
    events_since_last = models.TextField("interpersonal events and mood since we last met", blank=True)
    people_discussed = models.ManyToManyField(
        RelationshipEntry, blank=True, related_name="sessions_discussed"
    )
    joint_attendees = models.ManyToManyField(RelationshipEntry, blank=True, related_name="joint_sessions")

    task_type = models.CharField("between-session task", max_length=30, choices=TaskType.choices, blank=True)
    task_text = models.TextField("task details", blank=True)
    last_task_outcome = models.CharField(max_length=10, choices=TaskOutcome.choices, blank=True)

    risk_ideation = models.CharField(max_length=10, choices=Ideation.choices, blank=True)
    risk_plan = models.BooleanField("has a plan", null=True, blank=True)
    risk_intent = models.BooleanField("has intent", null=True, blank=True)
    safety_plan = models.TextField(blank=True)
    risk_action_taken = models.TextField(blank=True)

    private_note = models.TextField(blank=True, help_text="Seen by the treating therapist only.")

    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="signed_sessions"
    )
    version = models.PositiveIntegerField(default=1)
    # Generated when the new-session form is opened: a second submit of the same
    # form finds the first session instead of creating another.
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(m2m_fields=[foci])
    objects = TherapySessionQuerySet.as_manager()

    class Meta:
        ordering = ["date", "number"]
        indexes = [
            models.Index(fields=["course", "date"]),
            # Unsigned notes per course (dashboards' "notes to sign"): a small partial index.
            models.Index(
                fields=["course"], condition=Q(signed_at__isnull=True), name="session_unsigned_course_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "number"],
                name="session_number_unique_per_course",
                violation_error_message="This course already has a session with that number.",
            ),
            models.CheckConstraint(
                name="session_numbered_iff_attended",
                condition=(
                    Q(attendance="attended", number__isnull=False, number__gte=1)
                    | (~Q(attendance="attended") & Q(number__isnull=True))
                ),
                violation_error_message=(
                    "Attended sessions are numbered from 1; cancelled and no-show sessions are not."
                ),
            ),
            models.CheckConstraint(
                name="session_signed_with_signer",
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                violation_error_message="A signature records both who signed and when.",
            ),
        ]

    def __str__(self) -> str:
        if self.number:
            return f"Session {self.number} on {self.date:%d %b %Y}"
        return f"{self.get_attendance_display()} session on {self.date:%d %b %Y}"

    def save(self, *args, **kwargs) -> None:
        # A signed session is locked on every write path (forms, services, admin,
        # a direct save()): only the signing itself may write a signed row.
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values_list("signed_at", flat=True).first()
            if stored is not None:
                raise SignedSessionLocked(self)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("session-detail", kwargs={"public_id": self.public_id})

    def delete(self, *args, **kwargs):
        if self.pk is not None and type(self).objects.filter(pk=self.pk, signed_at__isnull=False).exists():
            raise SignedSessionLocked(self)
        return super().delete(*args, **kwargs)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class SignedSessionLocked(ValidationError):
    """Raised on any attempt to change a signed session; add an addendum instead."""

    def __init__(self, session: TherapySession) -> None:
        super().__init__(
            f"{session} is signed and locked. Add an addendum to correct or add to it.",
            code="signed_session_locked",
        )


def _refuse_if_session_signed(session_id: int | None) -> None:
    """Rows hanging off a signed session (reviews, scores) are locked with it."""
    if session_id is None:
        return
    session = TherapySession.objects.filter(pk=session_id, signed_at__isnull=False).first()
    if session is not None:
        raise SignedSessionLocked(session)


class ContractRevision(PublicIdModel):
    """A renegotiation of the planned number of sessions, with its reason."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="contract_revisions")
    previous_planned_sessions = models.PositiveSmallIntegerField()
    planned_sessions = models.PositiveSmallIntegerField()
    reason = models.TextField()
    revised_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revised_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.previous_planned_sessions} → {self.planned_sessions} sessions on {self.revised_on}"


class SessionAddendum(PublicIdModel):
    """A correction or addition to a signed session; the note itself never changes."""

    session = models.ForeignKey(TherapySession, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="addenda")
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "session addenda"

    def __str__(self) -> str:
        return f"Addendum by {self.author} at {self.created_at:%d %b %Y %H:%M}"


class Goal(PublicIdModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Working on it"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "No longer a goal"

    focus = models.ForeignKey(ProblemAreaFocus, on_delete=models.PROTECT, related_name="goals")
    text = models.CharField(
        max_length=300, help_text="In the patient's own words: they may read it on the portal."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    visible_to_patient = models.BooleanField("show on the patient's portal", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.text


class GoalReview(PublicIdModel):
    class Progress(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        SOME = "some", "Some progress"
        SUBSTANTIAL = "substantial", "Substantial progress"
        ACHIEVED = "achieved", "Achieved"

    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="reviews")
    session = models.ForeignKey(TherapySession, on_delete=models.PROTECT, related_name="goal_reviews")
    progress = models.CharField(max_length=20, choices=Progress.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Latest review = latest session, whenever the review was typed in.
        ordering = ["session__date", "session__number", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["goal", "session"],
                name="goal_review_once_per_session",
                violation_error_message="This goal was already reviewed in this session.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_progress_display()} ({self.goal})"

    def save(self, *args, **kwargs) -> None:
        _refuse_if_session_signed(self.session_id)
        super().save(*args, **kwargs)


class MeasureResponse(PublicIdModel):
    """A completed PHQ-9 or GAD-7. Total, band and item-9 flag come from the items."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measures")
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, null=True, blank=True, related_name="measures"
    )
    session = models.ForeignKey(
        TherapySession, on_delete=models.PROTECT, null=True, blank=True, related_name="measures"
    )
    instrument = models.CharField(max_length=10, choices=measures.Instrument.choices)
    items = models.JSONField()
    difficulty = models.PositiveSmallIntegerField(null=True, blank=True, choices=measures.DIFFICULTY_ANSWERS)
    total = models.PositiveSmallIntegerField(editable=False)
    band = models.CharField(max_length=20, choices=measures.Band.choices, editable=False)
    item9_positive = models.BooleanField(default=False, editable=False)
    taken_on = models.DateField()
    recorded_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["taken_on", "created_at"]
        indexes = [
            models.Index(fields=["patient", "instrument", "-taken_on"]),
            # Baseline and latest score of a course (ascending and backward scans).
            models.Index(
                fields=["course", "instrument", "taken_on", "created_at"], name="measure_course_taken_idx"
            ),
            # Positive item 9 answers are rare: "unresolved item 9" no longer scans every questionnaire.
            models.Index(
                fields=["course"], condition=Q(item9_positive=True), name="measure_item9_course_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="measure_total_in_range",
                condition=(
                    Q(
                        instrument=measures.Instrument.PHQ9,
                        total__gte=0,
                        total__lte=measures.MAX_TOTAL[measures.Instrument.PHQ9],
                    )
                    | Q(
                        instrument=measures.Instrument.GAD7,
                        total__gte=0,
                        total__lte=measures.MAX_TOTAL[measures.Instrument.GAD7],
                    )
                ),
                violation_error_message="The total is outside the instrument's range.",
            ),
            models.CheckConstraint(
                name="measure_item9_only_phq9",
                condition=Q(instrument=measures.Instrument.PHQ9) | Q(item9_positive=False),
                violation_error_message="Only the PHQ-9 has an item 9.",
            ),
            models.UniqueConstraint(
                fields=["session", "instrument"],
                name="measure_once_per_session",
                violation_error_message="This questionnaire is already recorded for the session.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} {self.total} on {self.taken_on:%d %b %Y}"

    def save(self, *args, **kwargs) -> None:
        _refuse_if_session_signed(self.session_id)
        # Totals are always derived: nobody types one, and nothing stale survives an edit.
        self._derive_scores()
        super().save(*args, **kwargs)

    def clean_fields(self, exclude=None) -> None:
        # Derive before field validation so full_clean() checks the derived values too.
        try:
            self._derive_scores()
        except ValueError as exc:
            raise ValidationError({"items": str(exc)}) from exc
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        for owner in (self.course, self.session.course if self.session_id else None):
            if owner is not None and owner.patient_id != self.patient_id:
                raise ValidationError("The questionnaire belongs to another patient's course.")

    def _derive_scores(self) -> None:
        result = measures.score(self.instrument, self.items)
        self.total, self.band, self.item9_positive = result.total, result.band, result.item9_positive


class AuditEvent(models.Model):
    """Who did what to which record, from where. Never clinical content."""

    class Action(models.TextChoices):
        VIEW = "view", "View"
        LIST = "list", "List"
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"
        SIGN = "sign", "Sign"
        EXPORT = "export", "Export"
        DENIED = "denied", "Denied"
        LOGIN = "login", "Login"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOGOUT = "logout", "Logout"
        LOCKOUT = "lockout", "Lockout"
        EMERGENCY_ACCESS = "emergency_access", "Emergency access"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    # Kept as typed at the time: a username for failed logins, the role the user then had.
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=20, blank=True)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_public_id = models.UUIDField(null=True, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["clinic", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or '-'} {self.action} {self.object_type}"


class Reassignment(PublicIdModel):
    """A patient moved to another therapist of the clinic, with the reason (issue 4)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="reassignments")
    # The course that was active at the time (it moved with the patient), if any.
    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, null=True, blank=True, related_name="reassignments"
    )
    from_therapist = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    to_therapist = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    reassigned_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="reassignment_changes_therapist",
                condition=~Q(from_therapist=models.F("to_therapist")),
                violation_error_message="A reassignment moves the patient to a different therapist.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} reassigned on {self.at:%d %b %Y}"


class EmergencyAccess(PublicIdModel):
    """"Break the glass": a therapist reads a patient outside their caseload, with a reason (issue 5).

    Read-only and time-boxed: `access.py` widens the therapist's read scope to
    the patient while `expires_at` is ahead; every write still needs the
    treating therapist. The clinic admin sees each grant on their dashboard
    and the audit trail has an EMERGENCY_ACCESS row for it.
    """

    DURATION = timedelta(hours=4)
    REASON_MIN_LENGTH = 20

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="emergency_accesses")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="emergency_accesses")
    reason = models.TextField()
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "expires_at"]),
            models.Index(fields=["patient", "expires_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="emergency_access_ends_after_start",
                condition=Q(expires_at__gt=models.F("started_at")),
                violation_error_message="Emergency access must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access by {self.user} to {self.patient} from {self.started_at:%d %b %Y %H:%M}"
