"""The study file: one TOML document that every party holds, describing who computes what.

A study names the parties (and where each listens), who receives the result, the statistic,
the grouping columns with *all* their levels (public: taken from the study, never from the data,
so the shape of the table reveals nothing), the value column with public bounds, an optional
weight column, the output protection and the timeouts. Every party checks it has the same study
by comparing `Study.digest` (a SHA-256 of the canonical content) with the others before
computing anything.

Example::

    [study]
    name = "income-by-region"
    statistic = "mean"              # count | total | mean | variance | table
    by = ["region"]                 # 0, 1 or 2 grouping columns
    results = ["north"]             # parties that receive the result

    [levels]
    region = ["N", "S", "E", "W"]

    [value]
    column = "income"
    min = 0
    max = 500000

    [protection]
    min_cell_size = 5
    small_cells = "suppress"        # or "flag"

    [[party]]
    name = "north"
    host = "10.0.0.1"
    port = 11365
    certificate = "certs/north.crt"
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from confidata.errors import InputFileError, SchemaError
from confidata.secure.stat_spec import parse_quantiles, parse_regression, spec_toml

__all__ = [
    "Party",
    "Study",
    "load_study",
    "parse_study",
    "STATISTICS",
    "CELL_STATISTICS",
    "PSI_STATISTICS",
    "PSI_TECHNIQUES",
    "VERTICAL_TECHNIQUES",
    "ID_FORMS",
]

# Statistics over the intersection of two holders' unit sets (private set intersection,
# confidata.secure.psi_party); they take an [identifier] section and a technique.
PSI_STATISTICS = ("intersection_size", "intersection", "intersection_sum")
PSI_TECHNIQUES = ("ecdh", "helper")
# canonical forms an identifier column may declare; "code:N" zero-pads digits to N places
ID_FORMS = ("text", "date", "integer", "code:N")
# A table of holder A's column by holder B's column over the units both hold (the vertical case,
# confidata.secure.vertical_party); it takes an [identifier] section, 'holders' and a helper.
VERTICAL = "vertical_table"
VERTICAL_TECHNIQUES = ("helper",)
# statistics with a section of their own, parsed by confidata.secure.stat_spec
MODEL_STATISTICS = ("regression", "quantiles")
STATISTICS = ("count", "total", "mean", "variance", "table", *PSI_STATISTICS, VERTICAL, *MODEL_STATISTICS)
CELL_STATISTICS = ("count", "total", "mean")  # what a 'table' statistic shows in each cell
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
_TOP_KEYS = {"study", "levels", "value", "weight", "protection", "limits", "tls", "party", "identifier"}
_TOP_KEYS |= set(MODEL_STATISTICS)
_CODE_FORM = re.compile(r"^code:([1-9][0-9]?)$")


@dataclass(frozen=True)
class Party:
    """One computing party: where the others reach it, and its TLS certificate."""

    name: str
    host: str
    port: int
    certificate: str = ""  # path, resolved against the study's folder
    listen_host: str = ""  # where it binds, when that differs from host:port (NAT, proxy)
    listen_port: int = 0
    role: str = "holder"  # or "helper": a PSI helper that holds no data and only matches pseudonyms

    @property
    def bind(self) -> tuple[str, int]:
        return (self.listen_host or self.host, self.listen_port or self.port)


@dataclass(frozen=True)
class Study:
    """A validated study. Build with `load_study` or `parse_study`."""

    name: str
    statistic: str
    by: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]]
    parties: tuple[Party, ...]
    results: tuple[str, ...]
    cell: str = "count"  # the per-cell statistic of a 'table'; equal to `statistic` otherwise
    value: str | None = None
    value_min: float = 0.0
    value_max: float = 0.0
    weight: str | None = None
    weight_max: float = 1.0
    min_cell_size: int = 0
    small_cells: str = "suppress"
    epsilon: float | None = None
    max_records: int = 10_000_000
    connect_timeout: float = 30.0
    step_timeout: float = 60.0
    tls: bool = True
    ca: str = ""
    folder: str = "."
    # private set intersection (statistic in PSI_STATISTICS) only
    technique: str = ""
    identifier: tuple[str, ...] = ()
    id_forms: Mapping[str, str] = field(default_factory=dict)
    separator: str = "|"
    value_holder: str = ""
    # vertical_table only: the holder of each 'by' column, in the order of 'by'
    by_holders: tuple[str, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict)  # [regression] or [quantiles], validated
    digest: str = field(default="", compare=False)

    @property
    def is_psi(self) -> bool:
        return self.statistic in PSI_STATISTICS

    @property
    def is_vertical(self) -> bool:
        return self.statistic == VERTICAL

    @property
    def is_vertical_model(self) -> bool:
        """A regression over two holders' columns of the same units ([regression] holders)."""
        return self.statistic == "regression" and bool(self.by_holders)

    @property
    def holders(self) -> tuple[Party, ...]:
        """The parties that hold data (every party but a PSI helper)."""
        return tuple(p for p in self.parties if p.role == "holder")

    @property
    def helper(self) -> Party | None:
        return next((p for p in self.parties if p.role == "helper"), None)

    # -- derived facts -------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        """Every data column the study reads, in a fixed order."""
        if self.is_psi:
            return [*self.identifier, *([self.value] if self.value else [])]
        if self.statistic == "regression":
            return [self.spec["outcome"], *self.spec["terms"]]
        cols = list(self.by)
        cols += [c for c in (self.value, self.weight) if c]
        return cols

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.levels[c]) for c in self.by)

    @property
    def n_cells(self) -> int:
        return math.prod(self.shape) if self.by else 1

    def party(self, name: str) -> Party:
        for p in self.parties:
            if p.name == name:
                return p
        raise SchemaError(
            f"Party '{name}' is not in the study; its parties are {', '.join(p.name for p in self.parties)}. "
            "Pass one of them with --as."
        )

    def index(self, name: str) -> int:
        return [p.name for p in self.parties].index(self.party(name).name)

    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else Path(self.folder) / p

    def cell_labels(self) -> list[tuple[str, ...]]:
        """The level combination of each cell, in the order cells are stored (C order)."""
        if not self.by:
            return [()]
        labels: list[tuple[str, ...]] = [()]
        for col in self.by:
            labels = [lab + (lev,) for lab in labels for lev in self.levels[col]]
        return labels


def load_study(path: str | Path) -> Study:
    """Read and validate a study TOML file."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"Study file '{path}' does not exist; write one (see 'confidata secure demo').")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"Study file '{path}' is not valid TOML ({exc}); fix the syntax.") from None
    return parse_study(data, folder=path.resolve().parent, where=str(path))


def _need(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, hint: str) -> Any:
    if key not in table:
        raise SchemaError(f"{where}: key '{key}' is missing; {hint}")
    value = table[key]
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise SchemaError(f"{where}: key '{key}' must not be true/false; {hint}")
    if not isinstance(value, kind):
        raise SchemaError(f"{where}: key '{key}' has the wrong type; {hint}")
    return value


def _opt(table: Mapping[str, Any], key: str, kind, default, where: str, hint: str):
    return _need(table, key, kind, where, hint) if key in table else default


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise SchemaError(f"{where}: '{key}' must be a table, written [{key}].")
    return value


def parse_study(data: Mapping[str, Any], *, folder: str | Path = ".", where: str = "study") -> Study:
    """Validate a study given as a dict (a parsed TOML document)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise SchemaError(
            f"{where}: unknown section(s) {', '.join(unknown)}; the known ones are "
            f"{', '.join(sorted(_TOP_KEYS))}."
        )
    st = _section(data, "study", where)
    w = f"{where} [study]"
    name = _opt(st, "name", str, "study", w, 'give the study a name, e.g. name = "income-by-region".')
    statistic = _need(st, "statistic", str, w, f"set statistic to one of {', '.join(STATISTICS)}.")
    if statistic not in STATISTICS:
        raise SchemaError(f"{w}: key 'statistic' must be one of {', '.join(STATISTICS)}; fix its value.")
    by = _opt(st, "by", list, [], w, 'list 0, 1 or 2 grouping columns, e.g. by = ["region", "sex"].')
    if len(by) > 2 or not all(isinstance(c, str) and c for c in by) or len(set(by)) != len(by):
        raise SchemaError(f"{w}: key 'by' must list 0, 1 or 2 distinct column names.")
    if statistic == "table" and not by:
        raise SchemaError(f"{w}: a 'table' needs 1 or 2 grouping columns in key 'by'.")
    vertical = statistic == VERTICAL
    if vertical and len(by) != 2:
        raise SchemaError(
            f"{w}: a '{VERTICAL}' needs 2 grouping columns in key 'by', the first held by one holder "
            "and the second by the other (see key 'holders')."
        )
    psi = statistic in PSI_STATISTICS
    reg = data.get("regression")
    vreg = statistic == "regression" and isinstance(reg, Mapping) and "holders" in reg  # vertical model
    if psi and by:
        raise SchemaError(f"{w}: statistic '{statistic}' takes no 'by' columns; remove key 'by'.")
    technique = ""
    if psi:
        hint = f"set technique to one of {', '.join(PSI_TECHNIQUES)}."
        technique = _opt(st, "technique", str, "ecdh", w, hint)
        if technique not in PSI_TECHNIQUES:
            raise SchemaError(f"{w}: key 'technique' has an unknown value; {hint}")
    elif vertical or vreg:
        hint = f"set technique to one of {', '.join(VERTICAL_TECHNIQUES)}."
        technique = _opt(st, "technique", str, "helper", w, hint)
        if technique not in VERTICAL_TECHNIQUES:
            raise SchemaError(f"{w}: key 'technique' has an unknown value; {hint}")
    elif "technique" in st:
        raise SchemaError(f"{w}: key 'technique' applies to the intersection statistics only; remove it.")
    by_holders: list[str] = []
    if vertical:
        hint = 'name the holder of each \'by\' column in order, e.g. holders = ["nso", "tax"].'
        by_holders = _need(st, "holders", list, w, hint)
        named = len(by_holders) == 2 and all(isinstance(h, str) for h in by_holders)
        if not named or by_holders[0] == by_holders[1]:
            raise SchemaError(f"{w}: key 'holders' must name 2 different holders, one per 'by' column.")
    elif "holders" in st:
        raise SchemaError(f"{w}: key 'holders' applies to '{VERTICAL}' only; remove it.")
    identifier, id_forms, separator = _identifier(data, where, psi or vertical or vreg)

    lv = _section(data, "levels", where)
    levels: dict[str, tuple[str, ...]] = {}
    for col in by:
        values = lv.get(col)
        if not isinstance(values, list) or not values:
            raise SchemaError(
                f"{where} [levels]: key '{col}' is missing or empty; list every level of "
                f'grouping column \'{col}\', e.g. {col} = ["A", "B"].'
            )
        names = [str(v) for v in values]
        if len(set(names)) != len(names):
            raise SchemaError(f"{where} [levels]: key '{col}' lists a level twice; list each level once.")
        levels[col] = tuple(names)
    extra = sorted(set(lv) - set(by))
    if extra:
        raise SchemaError(
            f"{where} [levels]: levels given for {', '.join(extra)}, which is not in 'by'; "
            "remove them or add the column to 'by'."
        )

    val = _section(data, "value", where)
    value = None
    vmin = vmax = 0.0
    if val:
        w = f"{where} [value]"
        value = _need(val, "column", str, w, 'name the value column, e.g. column = "income".')
        vmin = float(_need(val, "min", (int, float), w, "give the public lower bound of the value."))
        vmax = float(_need(val, "max", (int, float), w, "give the public upper bound of the value."))
        if not (math.isfinite(vmin) and math.isfinite(vmax) and vmin < vmax):
            raise SchemaError(f"{w}: keys 'min' and 'max' must be finite with min < max.")
        if max(abs(vmin), abs(vmax)) >= 2.0**40:
            raise SchemaError(
                f"{w}: bounds beyond 2**40 are not supported; rescale the value (e.g. thousands)."
            )
        if value in by:
            raise SchemaError(f"{w}: key 'column' names a grouping column; pick another value column.")
        if value in identifier:
            raise SchemaError(f"{w}: key 'column' names an identifier column; pick another value column.")
    value_holder = _opt(val, "holder", str, "", f"{where} [value]", "name the holder of the value column.")
    if value_holder and statistic not in ("intersection_sum", VERTICAL):
        raise SchemaError(
            f"{where} [value]: key 'holder' applies to 'intersection_sum' and '{VERTICAL}' only; remove it."
        )
    if vertical and value and not value_holder:
        value_holder = by_holders[1]  # by default the holder of the second column holds the value
    if vertical and value_holder and value_holder not in by_holders:
        raise SchemaError(f"{where} [value]: key 'holder' must name one of the study's 'holders'.")
    if statistic == "intersection_sum" and not (value and value_holder):
        raise SchemaError(
            f"{where}: statistic 'intersection_sum' needs a [value] section with column, min, max and "
            "holder (the party whose data hold the value column)."
        )
    if psi and value and statistic != "intersection_sum":
        raise SchemaError(f"{where}: statistic '{statistic}' takes no [value] section; remove it.")
    cell = statistic
    if statistic in ("table", VERTICAL):
        cell = _opt(
            st,
            "cell",
            str,
            "total" if value else "count",
            f"{where} [study]",
            f"set cell to one of {', '.join(CELL_STATISTICS)}.",
        )
        if cell not in CELL_STATISTICS:
            raise SchemaError(f"{where} [study]: key 'cell' must be one of {', '.join(CELL_STATISTICS)}.")
    if cell in ("total", "mean", "variance") and not value:
        raise SchemaError(
            f"{where}: statistic '{cell}' needs a value column; add a [value] section with "
            "column, min and max."
        )

    spec: dict[str, Any] = {}
    for other in MODEL_STATISTICS:
        if other != statistic and other in data:
            raise SchemaError(f"{where}: section [{other}] applies to statistic '{other}' only; remove it.")
    if statistic == "regression":
        if by or val:
            raise SchemaError(
                f"{where}: a regression takes no 'by' and no [value]; its columns are in [regression]."
            )
        spec = parse_regression(_section(data, "regression", where), where)
        by_holders = list(spec.get("holders", {}))
    elif statistic == "quantiles":
        spec = parse_quantiles(_section(data, "quantiles", where), where, vmin, vmax, bool(value))

    wt = _section(data, "weight", where)
    weight = None
    wmax = 1.0
    if wt:
        w = f"{where} [weight]"
        weight = _need(wt, "column", str, w, 'name the weight column, e.g. column = "weight".')
        wmax = float(_need(wt, "max", (int, float), w, "give the public upper bound of the weights."))
        if not (math.isfinite(wmax) and 0 < wmax < 2.0**24):
            raise SchemaError(f"{w}: key 'max' must be positive and below 2**24.")
        if weight in by or weight == value:
            raise SchemaError(f"{w}: key 'column' names a column used otherwise; pick the weight column.")
        if vertical:
            raise SchemaError(f"{w}: weights are not supported in a '{VERTICAL}'; remove the section.")
        if statistic in MODEL_STATISTICS:
            raise SchemaError(
                f"{w}: statistic '{statistic}' is unweighted (survey weights are not supported in the "
                "secure regression and quantiles yet); remove the [weight] section for the unweighted "
                "estimate, or get weighted totals, means and tables from statistic = \"total\", "
                "\"mean\" or \"table\" with this [weight] section."
            )

    pr = _section(data, "protection", where)
    w = f"{where} [protection]"
    min_cell = _opt(pr, "min_cell_size", int, 0, w, "give a whole number, e.g. min_cell_size = 5.")
    if min_cell < 0:
        raise SchemaError(f"{w}: key 'min_cell_size' must be 0 (off) or more.")
    small = _opt(pr, "small_cells", str, "suppress", w, 'use "suppress" or "flag".')
    if small not in ("suppress", "flag"):
        raise SchemaError(f'{w}: key \'small_cells\' must be "suppress" or "flag".')
    epsilon = _opt(pr, "epsilon", (int, float), None, w, "give a positive number, e.g. epsilon = 1.0.")
    if epsilon is not None:
        epsilon = float(epsilon)
        if not (math.isfinite(epsilon) and epsilon > 0):
            raise SchemaError(f"{w}: key 'epsilon' must be a positive number.")
        if psi:
            raise SchemaError(
                f"{w}: key 'epsilon' is not supported for the intersection statistics; remove it."
            )
        if cell not in ("count", "total"):
            raise SchemaError(
                f"{w}: key 'epsilon' (differential privacy) is supported for counts and totals, "
                f"not '{cell}'; remove epsilon or ask for count/total."
            )

    lim = _section(data, "limits", where)
    w = f"{where} [limits]"
    max_records = _opt(lim, "max_records", int, 10_000_000, w, "give a whole number, e.g. 10000000.")
    if not 1 <= max_records <= 2**40:
        raise SchemaError(f"{w}: key 'max_records' must be between 1 and 2**40.")
    connect_timeout = float(_opt(lim, "connect_timeout", (int, float), 30.0, w, "give seconds, e.g. 30."))
    step_timeout = float(_opt(lim, "step_timeout", (int, float), 60.0, w, "give seconds, e.g. 60."))
    if connect_timeout <= 0 or step_timeout <= 0:
        raise SchemaError(f"{w}: timeouts must be positive numbers of seconds.")

    tl = _section(data, "tls", where)
    w = f"{where} [tls]"
    tls = _opt(tl, "enabled", bool, True, w, "write enabled = true or enabled = false.")
    ca = _opt(tl, "ca", str, "", w, 'give the path of the CA certificate, e.g. ca = "certs/mpyc_ca.crt".')

    raw_parties = data.get("party")
    if not psi and (not isinstance(raw_parties, list) or len(raw_parties) < 3):
        raise SchemaError(
            f"{where}: at least 3 [[party]] entries are needed (Shamir sharing with an honest "
            "majority); add the missing parties."
        )
    if not isinstance(raw_parties, list):
        raise SchemaError(f"{where}: list the parties as [[party]] entries.")
    parties = []
    for i, entry in enumerate(raw_parties):
        w = f"{where} [[party]] #{i + 1}"
        if not isinstance(entry, Mapping):
            raise SchemaError(f"{w}: must be a table with name, host and port.")
        pname = _need(entry, "name", str, w, "give a name of letters, digits and '-', e.g. name = \"north\".")
        if not _NAME.match(pname):
            raise SchemaError(
                f"{w}: key 'name' must start with a letter and hold only letters, digits and '-'."
            )
        host = _need(entry, "host", str, w, 'give the host the others connect to, e.g. host = "10.0.0.1".')
        port = _need(entry, "port", int, w, "give a TCP port, e.g. port = 11365.")
        cert = _opt(entry, "certificate", str, "", w, "give the path of the party's certificate.")
        listen = _opt(entry, "listen", str, "", w, 'write listen = "HOST:PORT".')
        lhost, lport = "", 0
        if listen:
            lhost, _, lport_text = listen.rpartition(":")
            if not lport_text.isdigit():
                raise SchemaError(f"{w}: key 'listen' must be HOST:PORT, e.g. listen = \"0.0.0.0:11365\".")
            lport = int(lport_text)
        for p in (port, lport or port):
            if not 1 <= p <= 65535:
                raise SchemaError(f"{w}: ports must be between 1 and 65535.")
        if tls and not cert:
            raise SchemaError(
                f"{w}: key 'certificate' is missing while TLS is on; make certificates with "
                "'confidata secure certs STUDY -o DIR' or set [tls] enabled = false."
            )
        role = _opt(entry, "role", str, "holder", w, 'write role = "holder" or role = "helper".')
        if role not in ("holder", "helper") or (role == "helper" and not (psi or vertical or vreg)):
            raise SchemaError(
                f"{w}: key 'role' must be \"holder\" or \"helper\" (a helper only in an intersection "
                "study with technique = \"helper\")."
            )
        parties.append(Party(pname, host, port, cert, lhost, lport, role))
    names = [p.name for p in parties]
    if len(set(n.lower() for n in names)) != len(names):
        raise SchemaError(f"{where}: party names must be distinct (ignoring case).")
    if tls and not ca:
        raise SchemaError(
            f"{where} [tls]: key 'ca' is missing while TLS is on; give the CA certificate path."
        )

    results = _opt(
        st, "results", list, names[:1], f"{where} [study]", "list the parties that receive the result."
    )
    if not results or any(r not in names for r in results):
        raise SchemaError(f"{where} [study]: key 'results' must list party names from [[party]].")
    if psi or vertical or vreg:
        # the helper matches any number of holders' pseudonyms; the other protocols are two-party
        many = psi and technique == "helper" and statistic != "intersection_sum"
        _check_psi_parties(parties, technique, results, value_holder, tls, where, many_holders=many)
    if (vertical or vreg) and sorted(by_holders) != sorted(p.name for p in parties if p.role == "holder"):
        key = "[regression] holders" if vreg else "[study] holders"
        raise SchemaError(f"{where}: key '{key}' must name the study's two data holders.")
    _check_plain_links(parties, tls, where)

    study = Study(
        name=name,
        statistic=statistic,
        by=tuple(by),
        levels=levels,
        parties=tuple(parties),
        results=tuple(dict.fromkeys(results)),
        cell=cell,
        value=value,
        value_min=vmin,
        value_max=vmax,
        weight=weight,
        weight_max=wmax,
        min_cell_size=min_cell,
        small_cells=small,
        epsilon=epsilon,
        max_records=max_records,
        connect_timeout=connect_timeout,
        step_timeout=step_timeout,
        tls=tls,
        ca=ca,
        folder=str(folder),
        technique=technique,
        identifier=tuple(identifier),
        id_forms=id_forms,
        separator=separator,
        value_holder=value_holder,
        spec=spec,
        by_holders=tuple(by_holders),
    )
    return _with_digest(study)


def _identifier(data: Mapping[str, Any], where: str, psi: bool) -> tuple[list[str], dict[str, str], str]:
    """The [identifier] section: columns, their canonical forms and the separator that joins them."""
    sec = _section(data, "identifier", where)
    w = f"{where} [identifier]"
    if not psi:
        if sec:
            raise SchemaError(f"{w}: applies to the intersection statistics only; remove the section.")
        return [], {}, "|"
    columns = _need(sec, "columns", list, w, 'list the identifier column(s), e.g. columns = ["person_id"].')
    if not columns or not all(isinstance(c, str) and c for c in columns) or len(set(columns)) != len(columns):
        raise SchemaError(f"{w}: key 'columns' must list one or more distinct column names.")
    separator = _opt(sec, "separator", str, "|", w, 'give the text that joins columns, e.g. separator = "|".')
    if not separator:
        raise SchemaError(f"{w}: key 'separator' must not be empty; use e.g. \"|\".")
    raw_forms = sec.get("forms", {})
    if not isinstance(raw_forms, Mapping):
        raise SchemaError(f'{w}: key \'forms\' must be a table, e.g. forms = {{ birth = "date" }}.')
    forms: dict[str, str] = {}
    for col in columns:
        form = raw_forms.get(col, "text")
        if not isinstance(form, str) or not (form in ("text", "date", "integer") or _CODE_FORM.match(form)):
            raise SchemaError(
                f"{w}: the form of identifier column '{col}' must be one of {', '.join(ID_FORMS)} "
                "(code:N zero-pads a numeric code to N digits, N from 1 to 99)."
            )
        forms[col] = form
    extra = sorted(set(raw_forms) - set(columns))
    if extra:
        raise SchemaError(f"{w}: forms given for {', '.join(extra)}, which is not in 'columns'; remove them.")
    unknown = sorted(set(sec) - {"columns", "separator", "forms"})
    if unknown:
        raise SchemaError(
            f"{w}: unknown key(s) {', '.join(unknown)}; the keys are columns, separator and forms."
        )
    return columns, forms, separator


def _check_psi_parties(
    parties: list[Party],
    technique: str,
    results: list[str],
    value_holder: str,
    tls: bool,
    where: str,
    *,
    many_holders: bool = False,
) -> None:
    holders = [p.name for p in parties if p.role == "holder"]
    helpers = [p.name for p in parties if p.role == "helper"]
    if many_holders and len(holders) < 2:
        raise SchemaError(
            f"{where}: an intersection study takes 2 or more data holders ([[party]] without "
            f"role = \"helper\"); it has {len(holders)}."
        )
    if not many_holders and len(holders) != 2:
        raise SchemaError(
            f"{where}: this study takes exactly 2 data holders ([[party]] without role = \"helper\"); "
            f"it has {len(holders)}. Only the helper technique's intersection and intersection_size "
            "take more."
        )
    want = 1 if technique == "helper" else 0
    if len(helpers) != want:
        raise SchemaError(
            f"{where}: technique '{technique}' takes {want} helper party (role = \"helper\"); it has "
            f"{len(helpers)}. Add or remove the helper, or change the technique."
        )
    if any(r not in holders for r in results):
        raise SchemaError(f"{where} [study]: key 'results' must name data holders only, not the helper.")
    if value_holder and value_holder not in holders:
        raise SchemaError(f"{where} [value]: key 'holder' must name one of the data holders.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve anywhere
        return False


def _check_plain_links(parties: list[Party], tls: bool, where: str) -> None:
    """TLS off is for one machine only: every party's host (and listening address) on loopback."""
    if tls:
        return
    remote = [p.name for p in parties if not all(_is_loopback(h) for h in (p.host, p.listen_host) if h)]
    if remote:
        raise SchemaError(
            f"{where} [tls]: TLS is off while party(ies) {', '.join(remote)} are not on a loopback "
            "address (host or listen); shares, pseudonyms and counts would cross the network "
            "unencrypted. Turn TLS on (enabled = true, with certificates) or place every party on "
            "127.0.0.1."
        )


def _with_digest(study: Study) -> Study:
    """The canonical content (everything but the local folder) hashed; equal studies, equal digest."""
    content = asdict(study)
    content.pop("folder")
    content.pop("digest")
    content["levels"] = {k: list(v) for k, v in study.levels.items()}
    content["id_forms"] = dict(study.id_forms)
    if not study.spec:  # studies without a [regression] or [quantiles] section keep their digest
        content.pop("spec")
    content["by_holders"] = list(study.by_holders)
    if not study.is_vertical:  # studies of the other statistics keep the digest they had
        content.pop("by_holders")
    # the digest of a study written before the intersection statistics is kept
    if not study.is_psi and not study.is_vertical and not study.is_vertical_model:
        for key in ("technique", "identifier", "id_forms", "separator", "value_holder"):
            content.pop(key)
        for party in content["parties"]:
            party.pop("role")
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    object.__setattr__(study, "digest", digest)
    return study


def study_toml(study: Study) -> str:
    """Write a study back as TOML (used by the demo); `load_study` reads it to an equal study."""
    lines = [
        "[study]",
        f"name = {json.dumps(study.name)}",
        f"statistic = {json.dumps(study.statistic)}",
        f"by = {json.dumps(list(study.by))}",
        f"results = {json.dumps(list(study.results))}",
    ]
    if study.statistic in ("table", VERTICAL):
        lines.append(f"cell = {json.dumps(study.cell)}")
    if study.is_vertical:
        lines.append(f"holders = {json.dumps(list(study.by_holders))}")
    if study.is_psi or study.is_vertical or study.is_vertical_model:
        lines.append(f"technique = {json.dumps(study.technique)}")
        lines += [
            "",
            "[identifier]",
            f"columns = {json.dumps(list(study.identifier))}",
            f"separator = {json.dumps(study.separator)}",
            "forms = { "
            + ", ".join(f"{json.dumps(c)} = {json.dumps(f)}" for c, f in study.id_forms.items())
            + " }",
        ]
    if study.by:
        lines += ["", "[levels]"] + [f"{c} = {json.dumps(list(study.levels[c]))}" for c in study.by]
    if study.value:
        lines += [
            "",
            "[value]",
            f"column = {json.dumps(study.value)}",
            f"min = {study.value_min!r}",
            f"max = {study.value_max!r}",
        ]
        if study.value_holder:
            lines.append(f"holder = {json.dumps(study.value_holder)}")
    if study.weight:
        lines += ["", "[weight]", f"column = {json.dumps(study.weight)}", f"max = {study.weight_max!r}"]
    lines += spec_toml(study.spec)
    lines += [
        "",
        "[protection]",
        f"min_cell_size = {study.min_cell_size}",
        f"small_cells = {json.dumps(study.small_cells)}",
    ]
    if study.epsilon is not None:
        lines.append(f"epsilon = {study.epsilon!r}")
    lines += [
        "",
        "[limits]",
        f"max_records = {study.max_records}",
        f"connect_timeout = {study.connect_timeout!r}",
        f"step_timeout = {study.step_timeout!r}",
        "",
        "[tls]",
        f"enabled = {'true' if study.tls else 'false'}",
    ]
    if study.ca:
        lines.append(f"ca = {json.dumps(study.ca)}")
    for p in study.parties:
        lines += [
            "",
            "[[party]]",
            f"name = {json.dumps(p.name)}",
            f"host = {json.dumps(p.host)}",
            f"port = {p.port}",
        ]
        if p.certificate:
            lines.append(f"certificate = {json.dumps(p.certificate)}")
        if p.listen_host or p.listen_port:
            lines.append(f"listen = {json.dumps(f'{p.bind[0]}:{p.bind[1]}')}")
        if p.role != "holder":
            lines.append(f"role = {json.dumps(p.role)}")
    return "\n".join(lines) + "\n"
