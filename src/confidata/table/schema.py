"""The one data model: a frozen, JSON-serialisable description of a table's columns.

A `Schema` says, for every column, what kind of values it holds (categorical, ordinal, integer,
continuous, date, datetime, identifier, free text), which role it plays in disclosure control
(direct identifier, quasi-identifier key, sensitive, survey weight, cluster, stratum) and which
raw tokens mean "missing" or carry a special meaning. Synthesizers, measures and secure
protocols all read the same object, so a decision made once (say, that ``-8`` means "not
applicable") holds everywhere.

On disk the schema is JSON laid out as a superset of the Frictionless-like files under
``shared/data/*/schema.json`` (``columns`` with ``name``, ``type``, ``allowed_values``,
``missing_values``...): those files load as they are, and keys confidata does not use are kept
and written back unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from confidata.errors import SchemaError, quote_names

__all__ = ["Column", "FROM_DATA", "Kind", "Role", "Schema", "SCHEMA_FORMAT"]

SCHEMA_FORMAT = "confidata-schema/1"


class Kind(StrEnum):
    """What values a column holds; decides how it is encoded, synthesised and measured."""

    CATEGORICAL = "categorical"
    ORDINAL = "ordinal"
    INTEGER = "integer"
    CONTINUOUS = "continuous"
    DATE = "date"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    TEXT = "text"

    @property
    def is_numeric(self) -> bool:
        return self in (Kind.INTEGER, Kind.CONTINUOUS)

    @property
    def is_categorical(self) -> bool:
        return self in (Kind.CATEGORICAL, Kind.ORDINAL)

    @property
    def is_numeric_or_date(self) -> bool:
        """Values on a number line (numbers, and dates as days): binned, ranged, differenced."""
        return self.is_numeric or self in (Kind.DATE, Kind.DATETIME)


class Role(StrEnum):
    """The part a column plays in disclosure control and survey estimation."""

    DIRECT_IDENTIFIER = "direct_identifier"  # name, id number: never synthesised, never reported
    KEY = "key"  # quasi-identifier: drives the disclosure-risk measures
    SENSITIVE = "sensitive"  # the attribute an intruder wants to learn
    WEIGHT = "weight"  # survey (design) weight: the number of people a record stands for
    CLUSTER = "cluster"  # household or other cluster id
    STRATUM = "stratum"  # sampling stratum


# JSON keys the Column model reads itself; every other key is carried in `extra`.
_COLUMN_KEYS = frozenset(
    {
        "name",
        "type",
        "roles",
        "role",
        "description",
        "allowed_values",
        "value_labels",
        "missing_values",
        "missing_value_meanings",
        "special_values",
        "range",
        "inferred_because",
        "domain",
    }
)
# The marker `inspect` writes on a column whose levels it read from the data. Such a domain is not
# public: a differentially private method may not use it for free (it buys the levels from its
# budget or refuses). A column without the marker is declared by whoever wrote the schema.
FROM_DATA = "from data, not public"
_SCHEMA_KEYS = frozenset({"format", "dataset", "columns"})


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Column:
    """One column: its kind, roles, levels and the raw tokens that mean missing.

    ``missing_values`` are tokens exactly as written in the source file (``""`` for an empty
    cell, ``"N"``, ``"-8"``). A token that is a valid value of the column's kind (``-8`` in an
    integer column) stays in the data frame as a value and is *flagged* as missing by the
    schema; one that is not (``"N"`` in an integer column) becomes a missing cell. This keeps
    files round-trippable and lets a synthesizer treat each code the way synthpop does.

    ``domain_public`` is False where the levels and range were read from the confidential data
    (``inspect`` does that, and marks it in the JSON as ``"domain": "from data, not public"``):
    differential privacy covers only a domain that is public or paid for.
    """

    name: str
    kind: Kind
    roles: tuple[Role, ...] = ()
    description: str = ""
    levels: tuple[str, ...] = ()
    value_labels: Mapping[str, str] = field(default_factory=dict)
    missing_values: tuple[str, ...] = ()
    missing_value_meanings: Mapping[str, str] = field(default_factory=dict)
    special_values: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    inferred_because: str = ""
    domain_public: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError("Every column in a schema needs a non-empty 'name'.")
        try:
            kind = Kind(self.kind)
        except ValueError:
            raise SchemaError(
                f"Column '{self.name}' has unknown type '{self.kind}'. "
                f"Use one of: {', '.join(k.value for k in Kind)}."
            ) from None
        roles = []
        for role in self.roles:
            try:
                roles.append(Role(role))
            except ValueError:
                raise SchemaError(
                    f"Column '{self.name}' has unknown role '{role}'. "
                    f"Use one of: {', '.join(r.value for r in Role)}."
                ) from None
        if Role.WEIGHT in roles and not kind.is_numeric:
            raise SchemaError(
                f"Column '{self.name}' has role 'weight' but type '{kind}'; a survey weight "
                "must be an integer or continuous column."
            )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise SchemaError(
                f"Column '{self.name}' has range min greater than max; swap the two bounds."
            )
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "roles", tuple(dict.fromkeys(roles)))
        object.__setattr__(self, "levels", tuple(str(v) for v in self.levels))
        object.__setattr__(self, "missing_values", tuple(str(v) for v in self.missing_values))
        for name in ("value_labels", "missing_value_meanings", "special_values", "extra"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict in the shared-schema layout, with confidata's keys added."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind.value}
        if self.roles:
            out["roles"] = [r.value for r in self.roles]
        if self.description:
            out["description"] = self.description
        if self.levels:
            out["allowed_values"] = list(self.levels)
        if self.value_labels:
            out["value_labels"] = dict(self.value_labels)
        out["missing_values"] = list(self.missing_values)
        if self.missing_value_meanings:
            out["missing_value_meanings"] = dict(self.missing_value_meanings)
        if self.special_values:
            out["special_values"] = dict(self.special_values)
        if self.minimum is not None or self.maximum is not None:
            out["range"] = {"min": self.minimum, "max": self.maximum}
        if self.inferred_because:
            out["inferred_because"] = self.inferred_because
        if not self.domain_public:
            out["domain"] = FROM_DATA
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "schema") -> Column:
        if not isinstance(data, Mapping):
            raise SchemaError(f"Each entry of 'columns' in {where} must be a JSON object.")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise SchemaError(f"A column in {where} has no 'name'; give every column a name.")
        if "type" not in data:
            raise SchemaError(
                f"Column '{name}' in {where} has no 'type'; "
                f"use one of: {', '.join(k.value for k in Kind)}."
            )
        roles = data.get("roles", [])
        if isinstance(roles, str):
            roles = [roles]
        if data.get("role"):
            roles = [*roles, data["role"]]
        bounds = data.get("range") or data.get("range_documented") or {}
        if not isinstance(bounds, Mapping):
            raise SchemaError(f"Column '{name}' in {where}: 'range' must be an object with min/max.")
        value_labels = data.get("value_labels") or {}
        domain = data.get("domain", "public")
        if domain not in ("public", FROM_DATA):
            raise SchemaError(
                f"Column '{name}' in {where}: 'domain' must be \"public\" or \"{FROM_DATA}\"; "
                "remove the key once you have checked that its levels and range are public."
            )
        return cls(
            name=name,
            kind=data["type"],
            roles=tuple(roles),
            description=str(data.get("description", "")),
            levels=tuple(data.get("allowed_values") or ()),
            value_labels={str(k): str(v) for k, v in value_labels.items()},
            missing_values=tuple(data.get("missing_values") or ()),
            missing_value_meanings=dict(data.get("missing_value_meanings") or {}),
            special_values={str(k): str(v) for k, v in (data.get("special_values") or {}).items()},
            minimum=_number_or_none(bounds.get("min"), name, where),
            maximum=_number_or_none(bounds.get("max"), name, where),
            inferred_because=str(data.get("inferred_because", "")),
            domain_public=domain != FROM_DATA,
            extra={k: v for k, v in data.items() if k not in _COLUMN_KEYS},
        )


def _number_or_none(value: Any, column: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(f"Column '{column}' in {where}: range bounds must be numbers.")
    return value


@dataclass(frozen=True)
class Schema:
    """An ordered, frozen collection of `Column` descriptions, saved as JSON."""

    columns: tuple[Column, ...]
    dataset: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        seen: set[str] = set()
        dupes = sorted({c.name for c in self.columns if c.name in seen or seen.add(c.name)})
        if dupes:
            raise SchemaError(
                f"The schema describes column(s) {quote_names(dupes)} more than once; "
                "keep one entry per column."
            )
        object.__setattr__(self, "extra", _frozen(self.extra))

    # -- access ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def with_role(self, role: Role) -> list[str]:
        """Names of the columns that play `role`, in schema order."""
        return [c.name for c in self.columns if role in c.roles]

    def replace_column(self, name: str, **changes: Any) -> Schema:
        """A new schema with one column changed (schemas are immutable)."""
        if name not in self:
            raise SchemaError(f"The schema has no column '{name}'.")
        cols = tuple(replace(c, **changes) if c.name == name else c for c in self.columns)
        return replace(self, columns=cols)

    def select(self, names: Iterable[str]) -> Schema:
        """A schema restricted to `names`, in that order."""
        return replace(self, columns=tuple(self[n] for n in names))

    # -- JSON -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": SCHEMA_FORMAT}
        if self.dataset:
            out["dataset"] = self.dataset
        for key, value in self.extra.items():
            out.setdefault(key, value)
        out["columns"] = [c.to_dict() for c in self.columns]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def fingerprint(self) -> str:
        """A short hash of the schema's content, stamped on reports and saved models."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "schema") -> Schema:
        if not isinstance(data, Mapping) or not isinstance(data.get("columns"), list):
            raise SchemaError(
                f"{where} is not a confidata schema: it needs a 'columns' list. "
                "Create one with 'confidata inspect FILE -o schema.json'."
            )
        fmt = data.get("format", SCHEMA_FORMAT)
        if isinstance(fmt, str) and fmt.startswith("confidata-schema/") and fmt != SCHEMA_FORMAT:
            raise SchemaError(
                f"{where} uses schema format '{fmt}', which this confidata does not read; "
                "upgrade confidata or re-create the schema with 'confidata inspect'."
            )
        columns = tuple(Column.from_dict(c, where=where) for c in data["columns"])
        return cls(
            columns=columns,
            dataset=str(data.get("dataset", "")),
            extra={k: v for k, v in data.items() if k not in _SCHEMA_KEYS},
        )

    @classmethod
    def from_json(cls, text: str, *, where: str = "schema") -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{where} is not valid JSON (line {exc.lineno}, column {exc.colno}); "
                "fix the syntax or re-create it with 'confidata inspect'."
            ) from None
        return cls.from_dict(data, where=where)

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        path = Path(path)
        if not path.is_file():
            raise SchemaError(f"Schema file '{path}' does not exist; check the path.")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SchemaError(f"Schema file '{path}' is not UTF-8 text; save it as UTF-8 JSON.") from None
        return cls.from_json(text, where=f"schema file '{path}'")

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        from confidata.table._files import atomic_write_bytes

        return atomic_write_bytes(Path(path), self.to_json().encode("utf-8"), overwrite=overwrite)
