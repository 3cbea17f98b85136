"""Metrics: what every service exposes, what the monitor adds, and that the Prometheus rules and the
Grafana dashboard only name metrics that exist."""

import json
import re
from pathlib import Path

import yaml
from childlink_common import metrics
from childlink_monitor.exposition import MonitorCollector
from prometheus_client import CollectorRegistry

REPO = Path(__file__).resolve().parents[3]


class FakeTap:
    def __init__(self):
        self.counters = {"tapped": 3, "flushes": 1}


class FakeApp:
    def __init__(self):
        self.latest = LATEST


LATEST = {
    "alerts": [{"kind": "silent", "subject": "health", "severity": "warning"}],
    "departments": [{"name": "health", "last_seen_ago_s": 12.0, "dead_letters_open": 1,
                     "outbox": {"ok": True, "backlog": 4},
                     "types": [{"type": "child.screened", "rate_per_min": 2.0, "seen_24h": 10,
                                "recent_lag": {"avg_s": 0.4}}]}],
    "queues": [{"name": "referral.health.events", "messages": 0, "consumers": 1}],
}


def exposition():
    registry = CollectorRegistry()
    registry.register(MonitorCollector(FakeApp(), FakeTap()))
    text = metrics.exposition(registry).decode()
    metrics.set_outbox_depth("health", 4)
    metrics.dead_lettered("referral", "referral.health.events", "max_attempts")
    return text + metrics.exposition().decode()


def test_the_monitor_exposes_alerts_flows_outboxes_and_queues():
    text = exposition()
    assert 'childlink_monitor_alert{kind="silent",severity="warning",subject="health"} 1.0' in text
    assert 'childlink_monitor_flow_lag_seconds{department="health",type="child.screened"} 0.4' in text
    assert 'childlink_monitor_outbox_backlog{service="health"} 4.0' in text
    assert 'childlink_monitor_tap_total{what="flushes"} 1.0' in text
    assert 'childlink_outbox_depth{service="health"} 4.0' in text
    assert 'childlink_dead_lettered_total{queue="referral.health.events",reason="max_attempts",service="referral"}' in text


def known_names():
    text = exposition()
    names = set(re.findall(r"^# TYPE (\S+) (\w+)", text, re.MULTILINE))
    out = set()
    for name, kind in names:
        out.add(name)
        if kind == "counter":
            out.add(f"{name}_total")
        if kind == "histogram":
            out.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
    out |= {"childlink_handler_seconds_bucket", "childlink_messages_handled_total", "childlink_handler_failures_total"}
    return out


def test_alert_rules_and_dashboard_name_only_metrics_that_exist():
    rules = yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())
    config = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    assert {job["job_name"] for job in config["scrape_configs"]} >= {"childlink-local", "childlink-kubernetes"}
    dashboard = json.loads((REPO / "deploy/grafana/childlink.json").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    used = {name for expr in exprs for name in re.findall(r"\b(childlink_[a-z_]+)\b", expr)}
    assert used and sorted(used - known_names()) == []
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
