"""The education department's childlink service: `POST /v1/events` into its outbox, relayed to `education.events`."""

from childlink_common.department import department_service

EducationService = department_service("education")
