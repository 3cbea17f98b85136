"""The social department's childlink service: `POST /v1/events` into its outbox, relayed to `social.events`."""

from childlink_common.department import department_service

SocialService = department_service("social")
