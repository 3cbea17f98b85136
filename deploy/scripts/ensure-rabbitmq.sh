#!/usr/bin/env bash
# Start the local RabbitMQ if it is down, and make sure its management API (used by the tests'
# throwaway vhosts and by operators) answers. Safe to run again and again.
set -euo pipefail

if ! command -v rabbitmqctl >/dev/null 2>&1; then
  echo "RabbitMQ is not installed: apt-get install rabbitmq-server (or use docker compose up)" >&2
  exit 1
fi
if ! rabbitmqctl -q status >/dev/null 2>&1; then
  echo "starting RabbitMQ"
  rabbitmq-server -detached
  rabbitmqctl -q await_startup --timeout 120 || rabbitmqctl -q wait --timeout 120 /var/lib/rabbitmq/mnesia/rabbit@$(hostname -s).pid
fi
# management: the tests' throwaway vhosts and operators; consistent-hash exchange: the referral's
# partitions when REFERRAL_PARTITIONS is set (docs/design.md, "Partitions by child").
rabbitmq-plugins -q enable rabbitmq_management rabbitmq_consistent_hash_exchange >/dev/null
for _ in $(seq 1 60); do
  if curl -fs -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null; then
    exit 0
  fi
  sleep 1
done
echo "RabbitMQ management API did not answer on 15672" >&2
exit 1
