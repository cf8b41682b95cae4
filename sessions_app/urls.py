"""URLs of the IPT domain. Records are addressed by UUID public ids only.

Each views module owns its routes; this file only puts them together.
"""

from django.urls import path

from sessions_app.views import (
    account,
    activation,
    audit_log,
    clinic,
    clinic_accounts,
    clinic_records,
    common,
    course,
    emergency,
    history,
    initial,
    portal,
    portal_access,
    session,
    therapist,
)

urlpatterns = [
    path("", common.home, name="home"),
    path("patients/<uuid:public_id>/", common.patient_detail, name="patient-detail"),
    *clinic.urlpatterns,
    *therapist.urlpatterns,
    *course.urlpatterns,
    *initial.urlpatterns,
    *session.urlpatterns,
    *clinic_accounts.urlpatterns,
    *clinic_records.urlpatterns,
    *activation.urlpatterns,
    *portal.urlpatterns,
    *account.urlpatterns,
    *emergency.urlpatterns,
    *audit_log.urlpatterns,
    *portal_access.urlpatterns,
    *history.urlpatterns,
]
