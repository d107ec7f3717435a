"""AIOps role: anomaly detection, model registry, live scoring, root cause, remediation."""
