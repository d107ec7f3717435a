"""Root cause ranking: score the metrics of a service and of its dependencies over a window, rank them by
whether they are anomalous, how early the anomaly started and how strong it is, and list the changes
(Flux revisions, deploys) seen in the same window. The earliest strong anomaly, especially one right
after a change, is the best candidate; the explanation says why each item sits where it does.
"""
from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass

import numpy as np

from runtime.aiops.series import Series, series_from_points
from runtime.config import RcaSettings
from runtime.web.errors import InputError, UpstreamError


@dataclass
class Candidate:
    service: str
    metric: str
    model_version: str | None
    peak_score: float
    onset: float | None
    relation: str
    note: str = ""

    @property
    def anomalous(self) -> bool:
        return self.onset is not None


def _fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class RootCauseAnalyser:
    def __init__(self, settings: RcaSettings, service, default_detector: str) -> None:
        self.settings = settings
        self.service = service
        self.default_detector = default_detector

    def scope(self, service: str) -> list[tuple[str, str]]:
        """(service, relation) for the service and its transitive dependencies, breadth first."""
        seen, order, queue = {service}, [(service, "affected service")], [service]
        while queue:
            current = queue.pop(0)
            for dependency in self.settings.services.get(current).depends_on if current in self.settings.services else []:
                if dependency not in seen:
                    seen.add(dependency)
                    order.append((dependency, f"dependency of {current}"))
                    queue.append(dependency)
        return order

    async def analyse(self, service: str, start: float | None, end: float | None,
                      inline: dict[str, list] | None) -> dict:
        end = time.time() if end is None else end
        start = end - self.settings.window_seconds if start is None else start
        if end <= start:
            raise InputError("body.end", "end must be after start")
        candidates = await (self._inline_candidates(service, inline) if inline is not None
                            else self._prometheus_candidates(service, start, end))
        if not candidates:
            raise InputError("body.service", f"no metrics known for service {service!r} or its dependencies "
                                             "(configure aiops.rca.services or send 'series')")
        changes = await self._changes(start, end)
        return _report(service, start, end, candidates, changes)

    async def _inline_candidates(self, service: str, inline: dict[str, list]) -> list[Candidate]:
        relations = dict(self.scope(service))
        out = []
        for key, points in inline.items():
            owner, _, metric = key.partition("/")
            if not metric:
                raise InputError(f"body.series.{key}", "inline RCA series are keyed 'service/metric'")
            data = series_from_points(points, f"body.series.{key}")
            out.append(await asyncio.to_thread(self._score, owner, metric, data,
                                               relations.get(owner, "not a known dependency"), None))
        return out

    async def _prometheus_candidates(self, service: str, start: float, end: float) -> list[Candidate]:
        step = self.settings.step_seconds
        jobs = []
        for owner, relation in self.scope(service):
            for metric, query in self.settings.services[owner].metrics.items() if owner in self.settings.services else []:
                jobs.append((owner, relation, metric, query))

        async def one(owner, relation, metric, query):
            path = f"rca.services.{owner}.metrics.{metric}"
            try:
                data = await self.service.prometheus.range_series(query, start, end, step, path)
            except (InputError, UpstreamError) as exc:
                return Candidate(owner, metric, None, 0.0, None, relation, f"not scored: {_message(exc)}")
            baseline = None
            try:
                self.service.registry.find(metric, None)
            except Exception:
                span = 4 * (end - start)
                try:
                    baseline = await self.service.prometheus.range_series(query, start - span, start, step, path)
                except (InputError, UpstreamError) as exc:
                    return Candidate(owner, metric, None, 0.0, None, relation,
                                     f"not scored: no model and no baseline ({_message(exc)})")
            return await asyncio.to_thread(self._score, owner, metric, data, relation, baseline)

        return list(await asyncio.gather(*(one(*job) for job in jobs)))

    def _score(self, owner: str, metric: str, data: Series, relation: str, baseline: Series | None) -> Candidate:
        from runtime.aiops.detectors import train_metric

        try:
            if baseline is not None:
                model, version = train_metric(baseline.ts, baseline.values, kind=self.default_detector), None
                result = model.score(data.ts, data.values)
                note = "scored by a model fitted on the 4 windows before"
            else:
                version, result, _ = self.service.score(metric, data, None, f"body.series.{owner}/{metric}")
                note = ""
        except (InputError, ValueError) as exc:
            return Candidate(owner, metric, None, 0.0, None, relation, f"not scored: {_message(exc)}")
        score = np.nan_to_num(np.asarray(result.score, dtype=float), nan=0.0)
        above = np.flatnonzero(score > 1.0)
        onset = float(data.ts[above[0]]) if above.size else None
        return Candidate(owner, metric, version, float(score.max()) if score.size else 0.0, onset, relation, note)

    async def _changes(self, start: float, end: float) -> list[dict]:
        changes = []
        for source in self.settings.changes:
            try:
                matrix = await self.service.prometheus.range_matrix(source.query, start, end, self.settings.step_seconds)
            except (InputError, UpstreamError) as exc:
                changes.append({"source": source.name, "at": end, "labels": {},
                                "description": f"change source unavailable: {_message(exc)}"})
                continue
            for item in matrix:
                labels = {key: str(value) for key, value in item["metric"].items()}
                ts, values = item["ts"], item["values"]
                if len(ts) == 0:
                    continue
                if ts[0] > start + self.settings.step_seconds:
                    changes.append({"source": source.name, "at": float(ts[0]), "labels": labels,
                                    "description": f"{source.name}: new series {_label_text(labels)} appeared"})
                for index in np.flatnonzero(np.diff(values) != 0):
                    changes.append({"source": source.name, "at": float(ts[index + 1]), "labels": labels,
                                    "description": f"{source.name}: {_label_text(labels)} changed from "
                                                   f"{values[index]:g} to {values[index + 1]:g}"})
        return sorted(changes, key=lambda change: (change["at"], change["source"], change["description"]))


def _message(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


def _label_text(labels: dict) -> str:
    return "{" + ",".join(f'{key}="{value}"' for key, value in sorted(labels.items())) + "}"


def _report(service: str, start: float, end: float, candidates: list[Candidate], changes: list[dict]) -> dict:
    ranked = sorted(candidates, key=lambda c: (not c.anomalous, c.onset if c.onset is not None else math.inf,
                                               -c.peak_score, c.service, c.metric))
    first_onset = next((c.onset for c in ranked if c.anomalous), None)
    causes = []
    for rank, candidate in enumerate(ranked, start=1):
        if candidate.anomalous:
            text = (f"{candidate.service}/{candidate.metric} ({candidate.relation}) anomalous from "
                    f"{_fmt_time(candidate.onset)}, peak score {candidate.peak_score:.2f}")
            if first_onset is not None and candidate.onset > first_onset:
                text += f", {candidate.onset - first_onset:.0f} s after the first anomaly"
            else:
                text += ", the earliest anomaly in scope"
                prior = [change for change in changes if change["at"] <= candidate.onset]
                if prior:
                    text += f"; follows {prior[-1]['description']} at {_fmt_time(prior[-1]['at'])}"
        else:
            text = (f"{candidate.service}/{candidate.metric} ({candidate.relation}) "
                    f"{candidate.note or 'not anomalous'}; peak score {candidate.peak_score:.2f}")
        if candidate.note and candidate.anomalous:
            text += f" ({candidate.note})"
        causes.append({"rank": rank, "service": candidate.service, "metric": candidate.metric,
                       "model_version": candidate.model_version, "peak_score": round(candidate.peak_score, 4),
                       "onset": candidate.onset, "anomalous": candidate.anomalous, "explanation": text})
    if causes and causes[0]["anomalous"]:
        summary = f"most likely cause: {causes[0]['explanation']}"
    else:
        summary = "no metric in scope is anomalous in the window"
    if changes:
        summary += f"; {len(changes)} change(s) in the window"
    return {"service": service, "start": start, "end": end, "causes": causes, "changes": changes,
            "summary": summary}
