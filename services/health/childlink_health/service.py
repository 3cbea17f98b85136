"""The health department's childlink service: `POST /v1/events` into its outbox, relayed to `health.events`."""

from childlink_common.department import department_service

HealthService = department_service("health")
