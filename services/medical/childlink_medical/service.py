"""The medical department's childlink service: `POST /v1/events` into its outbox, relayed to `medical.events`."""

from childlink_common.department import department_service

MedicalService = department_service("medical")
