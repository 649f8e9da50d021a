"""A scoring scheme as plain, validated data.

A scheme is stored in a database table as JSON, edited in the UI as a "what-if" copy and compared
against locked presets, so it must be immutable, comparable and round-trip exactly through
``to_dict`` / ``from_dict``.  Validation happens in ``__post_init__`` so an invalid scheme can never
exist, whichever way it was built.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DIRECTIONS: tuple[str, ...] = ("higher", "lower")
#: ``fracmax`` (value ÷ city maximum, COINr's ``n_fracmax``) is an extension beyond the four classic
#: methods: it keeps a ratio scale (zero stays zero), which fund-splitting size factors need.
NORMALISATIONS: tuple[str, ...] = ("minmax", "zscore", "rank", "target", "fracmax")
AGGREGATIONS: tuple[str, ...] = ("arithmetic", "geometric")
MISSING_RULES: tuple[str, ...] = ("zero", "reweight", "mean")
SCHEMA_FORMAT = "scoring.scheme/1"


class SchemeError(ValueError):
    """A scheme (or a change to one) is invalid; the message says which field and why."""


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, kw_only=True)
class SchemeIndicator:
    """One indicator of a scheme.

    Parameters
    ----------
    code:
        Indicator code as provided by the database, e.g. ``"loan_recovery_rate_pct"``.
    direction:
        ``"higher"`` when a bigger raw value is better, ``"lower"`` otherwise.
    normalisation:
        One of :data:`NORMALISATIONS`.
    weight:
        Nominal weight, any non-negative unit (weights are renormalised to sum 1 when used).
    target:
        Target value in the indicator's own unit; required (and > 0) for ``"target"`` normalisation.
    group:
        Optional label (e.g. ``"performance"``) used only for reporting.
    """

    code: str
    direction: str = "higher"
    normalisation: str = "minmax"
    weight: float = 1.0
    target: float | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        where = f"indicator {self.code!r}"
        if not isinstance(self.code, str) or not self.code.strip():
            raise SchemeError("indicator code must be a non-empty string")
        if self.direction not in DIRECTIONS:
            raise SchemeError(f"{where}: direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.normalisation not in NORMALISATIONS:
            raise SchemeError(
                f"{where}: unknown normalisation {self.normalisation!r}; choose one of {NORMALISATIONS}"
            )
        if not _is_number(self.weight) or not math.isfinite(self.weight) or self.weight < 0:
            raise SchemeError(f"{where}: weight must be a finite number >= 0, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))
        if self.target is not None:
            if not _is_number(self.target) or not math.isfinite(self.target):
                raise SchemeError(f"{where}: target must be a finite number, got {self.target!r}")
            object.__setattr__(self, "target", float(self.target))
        if self.normalisation == "target" and (self.target is None or self.target <= 0):
            raise SchemeError(f"{where}: 'target' normalisation needs a target > 0, got {self.target!r}")
        if self.group is not None and not isinstance(self.group, str):
            raise SchemeError(f"{where}: group must be a string or None, got {self.group!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this indicator's fields."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, kw_only=True)
class GradeBand:
    """A grade awarded to scores >= ``min_score`` (``None`` = catch-all lowest band).

    ``max_share`` (0–1] caps the share of scored districts that may hold this grade; districts beyond
    the cap (by score, whole tie groups at the boundary) get ``overflow_label`` instead.
    """

    label: str
    min_score: float | None
    max_share: float | None = None
    overflow_label: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label.strip():
            raise SchemeError("grade band label must be a non-empty string")
        if self.min_score is not None:
            if not _is_number(self.min_score) or not math.isfinite(self.min_score):
                raise SchemeError(f"grade {self.label!r}: min_score must be a finite number or None")
            object.__setattr__(self, "min_score", float(self.min_score))
        if self.max_share is not None:
            if not _is_number(self.max_share) or not 0 < self.max_share <= 1:
                raise SchemeError(
                    f"grade {self.label!r}: max_share must be in (0, 1], got {self.max_share!r}"
                )
            object.__setattr__(self, "max_share", float(self.max_share))
            if self.overflow_label is None:
                raise SchemeError(f"grade {self.label!r}: a capped band needs an overflow_label")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this band's fields."""
        return dataclasses.asdict(self)


def _validate_bands(bands: tuple[GradeBand, ...]) -> None:
    labels = [b.label for b in bands]
    if len(set(labels)) != len(labels):
        raise SchemeError(f"grade band labels must be unique, got {labels}")
    mins = [b.min_score for b in bands]
    if any(m is None for m in mins[:-1]):
        raise SchemeError("only the last grade band may have min_score None (the catch-all)")
    finite = [m for m in mins if m is not None]
    if any(a <= b for a, b in zip(finite, finite[1:], strict=False)):
        raise SchemeError(
            f"grade bands must be listed best first with strictly falling min_score, got {mins}"
        )
    for i, band in enumerate(bands):
        if band.overflow_label is not None and band.overflow_label not in labels[i + 1 :]:
            raise SchemeError(
                f"grade {band.label!r}: overflow_label {band.overflow_label!r} must name a lower band"
            )


@dataclass(frozen=True, kw_only=True)
class Scheme:
    """A composite-indicator scheme: which indicators, how normalised, weighted and aggregated.

    Parameters
    ----------
    name:
        Unique, human-readable name (the database key).
    indicators:
        The indicators (a list is accepted and stored as a tuple).
    description:
        Free text: purpose and the source of the weights.
    aggregation:
        ``"arithmetic"`` (full compensation) or ``"geometric"`` (partial compensation).
    missing:
        Missing-data rule: ``"zero"`` (normalised value 0 for that indicator), ``"reweight"``
        (weights renormalised over the indicators a district has) or ``"mean"`` (raw value imputed
        with the mean of the districts that have it).
    locked:
        Presets are locked: change them only through :meth:`with_name`, which makes an editable copy.
    grade_bands:
        Optional grade bands, best first.
    """

    name: str
    indicators: tuple[SchemeIndicator, ...]
    description: str = ""
    aggregation: str = "arithmetic"
    missing: str = "reweight"
    locked: bool = False
    grade_bands: tuple[GradeBand, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise SchemeError("scheme name must be a non-empty string")
        object.__setattr__(self, "indicators", tuple(self.indicators))
        object.__setattr__(self, "grade_bands", tuple(self.grade_bands))
        where = f"scheme {self.name!r}"
        if not self.indicators:
            raise SchemeError(f"{where}: needs at least one indicator")
        if not all(isinstance(i, SchemeIndicator) for i in self.indicators):
            raise SchemeError(f"{where}: indicators must be SchemeIndicator objects")
        codes = [i.code for i in self.indicators]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise SchemeError(f"{where}: duplicate indicator codes {dupes}")
        if sum(i.weight for i in self.indicators) <= 0:
            raise SchemeError(f"{where}: weights are all zero; at least one must be > 0")
        if self.aggregation not in AGGREGATIONS:
            raise SchemeError(f"{where}: aggregation must be one of {AGGREGATIONS}, got {self.aggregation!r}")
        if self.missing not in MISSING_RULES:
            raise SchemeError(f"{where}: missing rule must be one of {MISSING_RULES}, got {self.missing!r}")
        if not isinstance(self.locked, bool):
            raise SchemeError(f"{where}: locked must be True or False")
        if not isinstance(self.description, str):
            raise SchemeError(f"{where}: description must be a string")
        if not all(isinstance(b, GradeBand) for b in self.grade_bands):
            raise SchemeError(f"{where}: grade_bands must be GradeBand objects")
        _validate_bands(self.grade_bands)

    # ----------------------------------------------------------------- read helpers
    @property
    def codes(self) -> list[str]:
        """Indicator codes in scheme order."""
        return [i.code for i in self.indicators]

    @property
    def weights(self) -> dict[str, float]:
        """Nominal weights as given (not renormalised), keyed by code."""
        return {i.code: i.weight for i in self.indicators}

    def normalised_weights(self) -> dict[str, float]:
        """Weights rescaled to sum to 1, keyed by code."""
        total = sum(i.weight for i in self.indicators)
        return {i.code: i.weight / total for i in self.indicators}

    def indicator(self, code: str) -> SchemeIndicator:
        """Return the indicator with ``code``; raise ``KeyError`` naming the known codes otherwise."""
        for ind in self.indicators:
            if ind.code == code:
                return ind
        raise KeyError(f"scheme {self.name!r} has no indicator {code!r}; it has {self.codes}")

    # ----------------------------------------------------------------- copies
    def with_name(self, name: str, description: str | None = None) -> Scheme:
        """Return an unlocked, editable copy called ``name`` (the what-if copy of a preset)."""
        desc = self.description if description is None else description
        return dataclasses.replace(self, name=name, description=desc, locked=False)

    def _edit(self, **changes: Any) -> Scheme:
        # Editing a locked preset in place would silently change what "the preset" means in stored
        # results, so the caller must first take a named copy.
        if self.locked:
            raise SchemeError(
                f"scheme {self.name!r} is locked; call .with_name('<new name>') to make an editable copy"
            )
        return dataclasses.replace(self, **changes)

    def replace(self, **changes: Any) -> Scheme:
        """Return a copy with scheme-level fields changed (validated; refused on a locked scheme)."""
        return self._edit(**changes)

    def with_weights(self, weights: Mapping[str, float]) -> Scheme:
        """Return a copy with the weights of the given codes replaced (other weights unchanged)."""
        unknown = sorted(set(weights) - set(self.codes))
        if unknown:
            raise SchemeError(f"scheme {self.name!r}: no indicators {unknown}")
        inds = [dataclasses.replace(i, weight=weights.get(i.code, i.weight)) for i in self.indicators]
        return self._edit(indicators=tuple(inds))

    def with_indicator(self, code: str, **changes: Any) -> Scheme:
        """Return a copy with one indicator's fields changed (e.g. ``normalisation="rank"``)."""
        self.indicator(code)
        inds = [dataclasses.replace(i, **changes) if i.code == code else i for i in self.indicators]
        return self._edit(indicators=tuple(inds))

    def without_indicator(self, code: str) -> Scheme:
        """Return a copy without the indicator ``code``."""
        self.indicator(code)
        return self._edit(indicators=tuple(i for i in self.indicators if i.code != code))

    def adding_indicator(self, indicator: SchemeIndicator) -> Scheme:
        """Return a copy with ``indicator`` appended."""
        return self._edit(indicators=(*self.indicators, indicator))

    # ----------------------------------------------------------------- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict; :meth:`from_dict` rebuilds an equal scheme from it."""
        return {
            "format": SCHEMA_FORMAT,
            "name": self.name,
            "description": self.description,
            "locked": self.locked,
            "aggregation": self.aggregation,
            "missing": self.missing,
            "indicators": [i.to_dict() for i in self.indicators],
            "grade_bands": [b.to_dict() for b in self.grade_bands],
        }

    def to_json(self) -> str:
        """Return the scheme as a JSON string (UTF-8 text, non-ASCII kept)."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scheme:
        """Build a scheme from :meth:`to_dict` output; unknown keys are an error (they are typos)."""
        if not isinstance(data, Mapping):
            raise SchemeError(f"scheme data must be a mapping, got {type(data).__name__}")
        fmt = data.get("format", SCHEMA_FORMAT)
        if fmt != SCHEMA_FORMAT:
            raise SchemeError(f"unsupported scheme format {fmt!r}; expected {SCHEMA_FORMAT!r}")
        body = {k: v for k, v in data.items() if k != "format"}
        _check_keys("scheme", body, {f.name for f in dataclasses.fields(cls)})
        inds = [
            _build(SchemeIndicator, "indicator", d) for d in _as_list(body.get("indicators"), "indicators")
        ]
        bands = [
            _build(GradeBand, "grade band", d) for d in _as_list(body.get("grade_bands", []), "grade_bands")
        ]
        body.update(indicators=tuple(inds), grade_bands=tuple(bands))
        try:
            return cls(**body)
        except TypeError as exc:  # a required key such as "name" is absent
            raise SchemeError(f"scheme data incomplete: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> Scheme:
        """Build a scheme from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))


def _as_list(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise SchemeError(f"scheme {what} must be a list, got {type(value).__name__}")
    return value


def _check_keys(what: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SchemeError(f"{what}: unknown keys {unknown}; allowed {sorted(allowed)}")


def _build(cls: Any, what: str, data: Any) -> Any:
    if not isinstance(data, Mapping):
        raise SchemeError(f"{what} data must be a mapping, got {type(data).__name__}")
    _check_keys(what, data, {f.name for f in dataclasses.fields(cls)})
    try:
        return cls(**data)
    except TypeError as exc:
        raise SchemeError(f"{what} data incomplete: {exc}") from exc
