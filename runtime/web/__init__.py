"""HTTP plumbing shared by both roles: auth, limits, errors, logs, metrics, health endpoints."""
