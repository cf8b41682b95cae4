"""URLs of the IPT domain. Records are addressed by UUID public ids only."""

from django.urls import path

from sessions_app.views import clinic, common, portal, therapist

urlpatterns = [
    path("", common.home, name="home"),
    path("therapist/", therapist.home, name="therapist-home"),
    path("clinic/", clinic.home, name="clinic-home"),
    path("portal/", portal.home, name="portal-home"),
    path("patients/<uuid:public_id>/", common.patient_detail, name="patient-detail"),
    path("courses/<uuid:public_id>/", common.course_detail, name="course-detail"),
    path("sessions/<uuid:public_id>/", common.session_detail, name="session-detail"),
]
