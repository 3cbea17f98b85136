"""The monitor's view of the system as Prometheus metrics, read from its last snapshot at scrape time.

- childlink_monitor_alert{kind,subject,severity}                 1 per active alert
- childlink_monitor_flow_rate_per_minute{department,type}        messages seen, mean of the last 5 minutes
- childlink_monitor_flow_seen_24h{department,type}
- childlink_monitor_flow_lag_seconds{department,type}            recorded_at -> timeline, recent mean
- childlink_monitor_department_silence_seconds{department}       since the department's last event
- childlink_monitor_dead_letters_open{department}
- childlink_monitor_outbox_backlog{service}
- childlink_monitor_queue_messages{queue} / _queue_consumers{queue}
- childlink_monitor_tap_total{what}                              tapped, notices, dead_letters, flushes, ...
"""

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class MonitorCollector:
    def __init__(self, app, tap=None):
        self.app = app
        self.tap = tap

    def describe(self):
        return []

    def collect(self):
        snapshot = self.app.latest or {}
        alert = GaugeMetricFamily("childlink_monitor_alert", "Active alerts", labels=["kind", "subject", "severity"])
        for a in snapshot.get("alerts") or []:
            alert.add_metric([a["kind"], a["subject"], a["severity"]], 1)
        yield alert
        rate = GaugeMetricFamily("childlink_monitor_flow_rate_per_minute", "Messages seen per minute (5 min mean)",
                                 labels=["department", "type"])
        seen = GaugeMetricFamily("childlink_monitor_flow_seen_24h", "Messages seen in the last 24 hours",
                                 labels=["department", "type"])
        lag = GaugeMetricFamily("childlink_monitor_flow_lag_seconds", "recorded_at to timeline, recent mean",
                                labels=["department", "type"])
        silence = GaugeMetricFamily("childlink_monitor_department_silence_seconds", "Seconds since the last event",
                                    labels=["department"])
        dead = GaugeMetricFamily("childlink_monitor_dead_letters_open", "Dead letters waiting",
                                 labels=["department"])
        backlog = GaugeMetricFamily("childlink_monitor_outbox_backlog", "Accepted, not yet confirmed",
                                    labels=["service"])
        for department in snapshot.get("departments") or []:
            name = department["name"]
            if department.get("last_seen_ago_s") is not None:
                silence.add_metric([name], department["last_seen_ago_s"])
            dead.add_metric([name], department.get("dead_letters_open") or 0)
            outbox = department.get("outbox")
            if outbox and outbox.get("ok") and outbox.get("backlog") is not None:
                backlog.add_metric([name], outbox["backlog"])
            for flow in department.get("types") or []:
                labels = [name, flow["type"]]
                rate.add_metric(labels, flow["rate_per_min"])
                seen.add_metric(labels, flow["seen_24h"])
                if flow.get("recent_lag"):
                    lag.add_metric(labels, flow["recent_lag"]["avg_s"])
        yield from (rate, seen, lag, silence, dead, backlog)
        messages = GaugeMetricFamily("childlink_monitor_queue_messages", "Messages in the queue", labels=["queue"])
        consumers = GaugeMetricFamily("childlink_monitor_queue_consumers", "Consumers of the queue", labels=["queue"])
        for queue in snapshot.get("queues") or []:
            messages.add_metric([queue["name"]], queue["messages"])
            consumers.add_metric([queue["name"]], queue["consumers"])
        yield messages
        yield consumers
        if self.tap is not None:
            taps = CounterMetricFamily("childlink_monitor_tap", "What the monitor's taps took in", labels=["what"])
            for what, count in self.tap.counters.items():
                taps.add_metric([what], count)
            yield taps
