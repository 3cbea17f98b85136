"""The nameko service container every childlink service runs in (deploy/nameko/config.yaml names it
as SERVICE_CONTAINER_CLS).

It differs from nameko's in one thing: before any extension connects, the config's AMQP_SSL is
resolved from the environment (childlink_common.settings.amqp_ssl), so nameko's own entrypoints
(RPC, queue consumers) and childlink's relay and dead-letter publisher all connect to the broker
the same way, with the same CA file.
"""

from nameko.containers import ServiceContainer

from . import settings


class ChildlinkContainer(ServiceContainer):
    def __init__(self, service_cls, config):
        super().__init__(service_cls, settings.nameko_config(config))
