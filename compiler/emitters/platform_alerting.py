"""The Alertmanager configuration: every alert to the AIOps runtime, pages and tickets to their receivers.

Routing: the first route sends every alert to the AIOps webhook and continues, so the page/ticket routes
below still match. `severity=page` goes to the page receiver, `severity=ticket` to the ticket receiver, and
the cluster alerts kube-prometheus-stack ships (`critical`, `warning`) go the same ways; anything else ends at
a receiver without integrations. A firing page inhibits the ticket of the same
service and SLO: one incident, one notification.
"""
from __future__ import annotations

from .. import conventions as names
from ..spec.base import SecretRef
from ..spec.platform import Receiver
from .platform_charts import service_url

SECRETS_DIR = "/etc/alertmanager/secrets"
BLACKHOLE = names.RECEIVER_BLACKHOLE


def secret_path(ref: SecretRef) -> str:
    """Where kube-prometheus-stack mounts `alertmanagerSpec.secrets` entries inside Alertmanager."""
    return f"{SECRETS_DIR}/{ref.secret}/{ref.key}"


def _webhook(receiver: Receiver) -> dict:
    return {"name": receiver.name, "webhook_configs": [{"url": receiver.url, "send_resolved": True}]}


CLUSTER_PAGE_SEVERITY = "critical"
CLUSTER_TICKET_SEVERITY = "warning"


def _matcher(label: str, value: str) -> str:
    return f'{label}="{value}"'


def _any_of(label: str, *values: str) -> str:
    return f'{label}=~"{"|".join(values)}"'


def alertmanager_config(config) -> dict:
    """The `alertmanager.config` value of kube-prometheus-stack for the given PlatformConfig."""
    alerting = config.spec.platform.alerting
    aiops_url = service_url(names.AIOPS_SERVICE, alerting.aiops.namespace, names.AIOPS_PORT, names.AIOPS_ALERTS_PATH)
    aiops = {"name": names.AIOPS_SERVICE, "webhook_configs": [{
        "url": aiops_url, "send_resolved": True, "max_alerts": 100,
        "http_config": {"authorization": {"type": "Bearer",
                                          "credentials_file": secret_path(alerting.aiops.tokenSecret)}}}]}
    group_by = ["alertname", names.SLO_LABEL_SERVICE, names.SLO_LABEL_SLO]
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": BLACKHOLE, "group_by": group_by,
            "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h",
            "routes": [
                {"receiver": BLACKHOLE, "matchers": ['alertname="Watchdog"']},
                {"receiver": names.AIOPS_SERVICE, "continue": True, "group_wait": "10s"},
                {"receiver": alerting.page.name, "repeat_interval": "1h",
                 "matchers": [_any_of(names.LABEL_SEVERITY, names.SEVERITY_PAGE, CLUSTER_PAGE_SEVERITY)]},
                {"receiver": alerting.ticket.name, "repeat_interval": "12h",
                 "matchers": [_any_of(names.LABEL_SEVERITY, names.SEVERITY_TICKET, CLUSTER_TICKET_SEVERITY)]},
            ],
        },
        "inhibit_rules": [{
            "source_matchers": [_matcher(names.LABEL_SEVERITY, names.SEVERITY_PAGE)],
            "target_matchers": [_matcher(names.LABEL_SEVERITY, names.SEVERITY_TICKET)],
            "equal": [names.SLO_LABEL_SERVICE, names.SLO_LABEL_SLO],
        }],
        "receivers": [{"name": BLACKHOLE}, aiops, _webhook(alerting.page), _webhook(alerting.ticket)],
    }


def mounted_secrets(config) -> list[str]:
    """Secrets (in the monitoring namespace) Alertmanager must mount for the files the config names."""
    return [config.spec.platform.alerting.aiops.tokenSecret.secret]
