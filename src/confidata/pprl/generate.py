"""Realistic person records for testing record linkage: two files, a stated overlap, stated errors.

Why: a linkage method judged on data its author invented tends to be judged on the errors its
author thought of. These records are drawn from real frequency lists, and the errors are the ones
registers are known to carry, each at a rate the caller states and the result reports back:

* names: the US Census Bureau's 1990 frequency lists (88,799 surnames, 4,275 female and 1,219
  male first names with their shares of the population), shipped by the ``names`` package (MIT);
  names are drawn with those shares, so frequent names are as frequent as in a real register,
  which is what frequency attacks on encodings exploit (``pprl.attack``);
* nicknames: the hand-curated English name/nickname pairs of the ``nicknames`` package
  (Apache-2.0), e.g. a "Robert" written as "Bob" in the other file;
* places: the active standard US ZIP codes with their city, from the ``zipcodes`` package (MIT),
  drawn evenly (it carries no population);
* street addresses: a house number (log-uniform, 1 to 19,999), a street name (a frequent surname
  or one of the commonest US street names) and a suffix;
* dates of birth: uniform over 1930-01-01 to 2008-12-31; sex evenly F or M.

File A holds the persons as drawn. File B holds ``overlap`` of them again (the true pairs, listed
in ``truth``) and persons of its own, and every B record may carry errors, each drawn
independently at its stated rate among the records where it can happen (``ErrorRates``): a
keyboard-neighbour typo, an OCR confusion ("rn" read for "m"), a same-sounding real name
("Smyth" for "Smith"), a nickname, day and month transposed, a married woman's new surname, a
move (address, city and ZIP all new), and missing values per field. ``LinkageData.errors`` says
which record got which error and ``LinkageData.rates()`` the realised rates, so a benchmark can
state what its data held.

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same seed gives the same
files. A million records per file take well under a minute (names, dates and places are drawn
vectorised; only the few records that get an error are touched one by one).
"""

from __future__ import annotations

import csv
import importlib.resources
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from confidata.errors import ConfidataError

__all__ = [
    "RECORD_FIELDS",
    "ErrorRates",
    "GeneratorError",
    "LinkageData",
    "generate",
    "reference_people",
    "write_linkage_data",
]

#: The columns of a generated file besides its record id, in file order.
RECORD_FIELDS = ("first_name", "last_name", "sex", "dob", "address", "city", "zip")

_DOB_FIRST = np.datetime64("1930-01-01")
_DOB_LAST = np.datetime64("2008-12-31")

# The commonest US street names (besides those named after people), as lists of street-name
# frequency compiled from the Census TIGER files report them; used beside frequent surnames.
_STREET_WORDS = (
    "Main", "Oak", "Park", "Maple", "Pine", "Cedar", "Elm", "Washington", "Lake", "Hill",
    "Walnut", "Spring", "North", "Ridge", "Church", "Willow", "Mill", "Sunset", "Railroad",
    "Jackson", "Cherry", "Highland", "Center", "Forest", "Lincoln", "River", "Franklin",
    "Jefferson", "Madison", "Meadow", "First", "Second", "Third", "Fourth", "Fifth",
)
_STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Cir")

# QWERTY neighbours of each letter (same row and the rows above and below).
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard_neighbours() -> dict[str, str]:
    where = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, c) in where.items():
        near = [o for o, (r2, c2) in where.items() if o != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1]
        out[ch] = "".join(sorted(near))
    return out


_NEIGHBOURS = _keyboard_neighbours()

# Confusions of optical character recognition on printed forms: one glyph group read as another.
_OCR_CONFUSIONS = (
    ("m", "rn"), ("rn", "m"), ("d", "cl"), ("cl", "d"), ("w", "vv"), ("h", "li"), ("e", "c"),
    ("c", "e"), ("l", "i"), ("i", "l"), ("u", "v"), ("v", "u"), ("g", "q"), ("o", "a"), ("b", "h"),
)


class GeneratorError(ConfidataError, ValueError):
    """Options the record generator cannot work with (a rate outside [0, 1], a negative size)."""


@dataclass(frozen=True)
class ErrorRates:
    """The chance of each error in a file-B record, among the records where it can happen.

    ``typo``: one letter of the first name, last name or street address (chosen evenly) replaced
    by a keyboard neighbour. ``ocr``: one OCR confusion in the first or last name (records whose
    names hold no confusable glyph cannot get one). ``phonetic``: the first or last name replaced
    by a real name of the same Soundex code, same first two letters and at most two edits away
    (records whose names have no such variant cannot get one). ``nickname``: the first name
    replaced by one of its nicknames (only names that have one). ``dob_swap``: day and month
    transposed (only dates whose day is at most 12 and differs from the month). ``married``: a new
    surname, drawn by frequency (women only). ``moved``: address, city and ZIP all drawn anew.
    ``missing``: each field left empty, independently per field.
    """

    typo: float = 0.05
    ocr: float = 0.02
    phonetic: float = 0.03
    nickname: float = 0.05
    dob_swap: float = 0.02
    married: float = 0.05
    moved: float = 0.08
    missing: float = 0.02

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0):
                raise GeneratorError(
                    f"The error rate '{f.name}' must be a number in [0, 1]; give it as a share "
                    "(0.05 for 5%)."
                )

    @classmethod
    def none(cls) -> ErrorRates:
        """No errors at all: file B's shared records are exact copies."""
        return cls(**{f.name: 0.0 for f in fields(cls)})


#: The error kinds, in the order they are applied, as the columns of ``LinkageData.errors``.
ERROR_KINDS = ("married", "moved", "nickname", "phonetic", "typo", "ocr", "dob_swap")


@dataclass(frozen=True)
class LinkageData:
    """Two files of person records, their true pairs, and what was done to file B.

    ``a`` has the id column ``id_a``, ``b`` has ``id_b`` (each file its own name, as real holders
    do); both then have ``RECORD_FIELDS`` as strings, an empty value where missing (``pd.NA``).
    ``truth`` lists the pairs ``(id_a, id_b)`` of the same person. ``errors`` has one row per B
    record (same order as ``b``) and a boolean column per kind in ``ERROR_KINDS`` and per field
    (``missing_<field>``); ``eligible`` has the same shape and says where each could happen.
    """

    a: pd.DataFrame
    b: pd.DataFrame
    truth: pd.DataFrame
    errors: pd.DataFrame
    eligible: pd.DataFrame
    seed: int
    rates: ErrorRates

    def realised_rates(self) -> dict[str, float]:
        """Each error's realised share among the B records where it could happen."""
        out = {}
        for col in self.errors.columns:
            n = int(self.eligible[col].sum())
            out[col] = float(self.errors[col].sum() / n) if n else float("nan")
        return out


# --------------------------------------------------------------------------------------------
# The real lists (read from the installed packages, cached per process)


def _read_census(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One of the Census 1990 lists: names (title case) and their shares (summing to 1)."""
    try:
        text = importlib.resources.files("names").joinpath(name).read_text(encoding="ascii")
    except (ModuleNotFoundError, FileNotFoundError) as exc:  # pragma: no cover - install problem
        raise GeneratorError(
            "The Census name lists ship with the 'names' package, which is not installed; "
            "install it with 'pip install names==0.3.0'."
        ) from exc
    rows = [line.split() for line in text.splitlines() if line.strip()]
    vals = np.array([r[0].title() for r in rows], dtype=object)
    share = np.array([float(r[1]) for r in rows])
    # shares are printed to 0.001%: the 69,960 surnames printed as 0.000 share evenly what the
    # cumulative column says the printed shares leave over (10.9% of the population)
    zero = share == 0
    if zero.any():
        rest = float(rows[-1][2]) - share.sum()
        share[zero] = max(rest, 0.0005 * zero.sum()) / zero.sum()
    return vals, share / share.sum()


@cache
def _census(list_name: str) -> tuple[np.ndarray, np.ndarray]:
    return _read_census(list_name)


def _surnames() -> tuple[np.ndarray, np.ndarray]:
    return _census("dist.all.last")


def _first_names(sex: str) -> tuple[np.ndarray, np.ndarray]:
    return _census("dist.female.first" if sex == "F" else "dist.male.first")


@cache
def _nicknames() -> dict[str, tuple[str, ...]]:
    """First name (title case) -> its nicknames, from the ``nicknames`` package's table."""
    text = importlib.resources.files("nicknames").joinpath("names.csv").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        if row.get("relationship") == "has_nickname":
            out.setdefault(row["name1"].title(), []).append(row["name2"].title())
    return {k: tuple(sorted(set(v))) for k, v in out.items()}


@cache
def _places() -> tuple[np.ndarray, np.ndarray]:
    """(zip, city) of the active standard US ZIP codes."""
    import zipcodes

    rows = [z for z in zipcodes.list_all() if z["active"] and z["zip_code_type"] == "STANDARD"]
    return (
        np.array([z["zip_code"] for z in rows], dtype=object),
        np.array([z["city"] for z in rows], dtype=object),
    )


def _soundex(name: str) -> str:
    """American Soundex (letter + three digits), as the Census Bureau codes surnames."""
    codes = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"),
             **dict.fromkeys("dt", "3"), "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}
    s = name.lower()
    if not s:
        return ""
    out, last = [s[0].upper()], codes.get(s[0], "")
    for ch in s[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            out.append(code)
        if ch not in "hw":  # h and w do not separate equal codes; vowels do
            last = code
    return ("".join(out) + "000")[:4]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance of two short strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@cache
def _sound_groups(list_name: str) -> dict[tuple[str, str], list[int]]:
    vals, _ = _census(list_name)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, v in enumerate(vals):
        groups.setdefault((_soundex(v), v[:2].lower()), []).append(i)
    return groups


_variant_cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def _phonetic_variants(list_name: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Real names of the same list that sound like ``name``, and their shares (normalised)."""
    key = (list_name, name)
    if key not in _variant_cache:
        vals, share = _census(list_name)
        idx = _sound_groups(list_name).get((_soundex(name), name[:2].lower()), [])
        keep = [i for i in idx if vals[i] != name and _edits(vals[i].lower(), name.lower()) <= 2]
        w = share[keep]
        _variant_cache[key] = (vals[keep], w / w.sum() if len(keep) else w)
    return _variant_cache[key]


# --------------------------------------------------------------------------------------------
# Drawing persons


def _draw_people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` persons drawn independently from the real lists (no errors)."""
    sex = np.where(rng.random(n) < 0.5, "F", "M").astype(object)
    first = np.empty(n, dtype=object)
    for s in ("F", "M"):
        mask = sex == s
        vals, share = _first_names(s)
        first[mask] = vals[rng.choice(len(vals), size=int(mask.sum()), p=share)]
    svals, sshare = _surnames()
    last = svals[rng.choice(len(svals), size=n, p=sshare)]
    span = int((_DOB_LAST - _DOB_FIRST).astype(int)) + 1
    dob = _DOB_FIRST + rng.integers(0, span, size=n).astype("timedelta64[D]")
    out = pd.DataFrame({"first_name": first, "last_name": last, "sex": sex, "dob": dob})
    out[["address", "city", "zip"]] = _draw_places(n, rng)
    return out


def _draw_places(n: int, rng: np.random.Generator) -> pd.DataFrame:
    zips, cities = _places()
    pick = rng.integers(0, len(zips), size=n)
    number = np.exp(rng.uniform(0.0, np.log(20000.0), size=n)).astype(np.int64)
    svals, sshare = _surnames()
    top = 2000  # streets are named after frequent surnames, not after rare ones
    from_surname = rng.random(n) < 0.5
    street = np.where(
        from_surname,
        svals[rng.choice(top, size=n, p=sshare[:top] / sshare[:top].sum())],
        np.array(_STREET_WORDS, dtype=object)[rng.integers(0, len(_STREET_WORDS), size=n)],
    )
    suffix = np.array(_STREET_SUFFIXES, dtype=object)[rng.integers(0, len(_STREET_SUFFIXES), size=n)]
    parts = zip(number.tolist(), street.tolist(), suffix.tolist(), strict=True)
    address = [f"{h} {s} {x}" for h, s, x in parts]
    return pd.DataFrame({"address": address, "city": cities[pick], "zip": zips[pick]})


def reference_people(n: int, *, seed: int | None = None) -> pd.DataFrame:
    """A public list of ``n`` persons' names and sex, drawn from the same real lists.

    This is what an attacker on encodings is assumed to hold (a voter roll or telephone book of
    the same population): none of these persons is in the generated files except by chance, but
    name frequencies are the same. Columns: first_name, last_name, sex.
    """
    _check_size("n", n)
    rng = np.random.default_rng(seed)
    return _draw_people(n, rng)[["first_name", "last_name", "sex"]].copy()


# --------------------------------------------------------------------------------------------
# Errors


def _typo(value: str, rng: np.random.Generator) -> str | None:
    spots = [i for i, ch in enumerate(value) if ch.lower() in _NEIGHBOURS]
    if not spots:
        return None
    i = spots[int(rng.integers(len(spots)))]
    near = _NEIGHBOURS[value[i].lower()]
    ch = near[int(rng.integers(len(near)))]
    return value[:i] + (ch.upper() if value[i].isupper() else ch) + value[i + 1:]


def _ocr(value: str, rng: np.random.Generator) -> str | None:
    low = value.lower()
    spots = [(i, src, dst) for src, dst in _OCR_CONFUSIONS for i in range(len(low)) if low.startswith(src, i)]
    if not spots:
        return None
    i, src, dst = spots[int(rng.integers(len(spots)))]
    dst = dst.upper() if value[i].isupper() else dst
    return value[:i] + dst + value[i + len(src):]


def _apply_errors(b: pd.DataFrame, rates: ErrorRates, rng: np.random.Generator):
    """Corrupt ``b`` in place; return (errors, eligible) boolean frames."""
    n = len(b)
    err = {k: np.zeros(n, dtype=bool) for k in ERROR_KINDS}
    ok = {k: np.zeros(n, dtype=bool) for k in ERROR_KINDS}
    first = b["first_name"].to_numpy(dtype=object).copy()
    last = b["last_name"].to_numpy(dtype=object).copy()
    sex = b["sex"].to_numpy(dtype=object)
    address = b["address"].to_numpy(dtype=object).copy()

    # married: a new surname (women only)
    ok["married"] = sex == "F"
    hit = ok["married"] & (rng.random(n) < rates.married)
    svals, sshare = _surnames()
    new = svals[rng.choice(len(svals), size=int(hit.sum()), p=sshare)]
    same = new == last[hit]
    while same.any():  # a new name must differ from the old one
        new[same] = svals[rng.choice(len(svals), size=int(same.sum()), p=sshare)]
        same = new == last[hit]
    last[hit] = new
    err["married"] = hit

    # moved: a new place altogether
    ok["moved"][:] = True
    hit = rng.random(n) < rates.moved
    moved = _draw_places(int(hit.sum()), rng)
    address[hit] = moved["address"].to_numpy(dtype=object)
    city = b["city"].to_numpy(dtype=object).copy()
    zipc = b["zip"].to_numpy(dtype=object).copy()
    city[hit] = moved["city"].to_numpy(dtype=object)
    zipc[hit] = moved["zip"].to_numpy(dtype=object)
    err["moved"] = hit

    # nickname (first names that have one)
    nick = _nicknames()
    ok["nickname"] = np.array([v in nick for v in first], dtype=bool)
    hit = ok["nickname"] & (rng.random(n) < rates.nickname)
    for i in np.flatnonzero(hit):
        options = nick[first[i]]
        first[i] = options[int(rng.integers(len(options)))]
    err["nickname"] = hit

    # phonetic variant of the first or last name (names that have a same-sounding real variant)
    pick_last = rng.random(n) < 0.5
    first_list = np.where(sex == "F", "dist.female.first", "dist.male.first")
    lists = np.where(pick_last, "dist.all.last", first_list)
    names_now = np.where(pick_last, last, first)
    keys = pd.Series(list(zip(lists.tolist(), names_now.tolist(), strict=True)), dtype=object)
    has_variant = {k: len(_phonetic_variants(*k)[0]) > 0 for k in set(keys)}
    ok["phonetic"] = keys.map(has_variant).to_numpy(dtype=bool)
    for i in np.flatnonzero(ok["phonetic"] & (rng.random(n) < rates.phonetic)):
        vals, w = _phonetic_variants(lists[i], names_now[i])
        (last if pick_last[i] else first)[i] = vals[rng.choice(len(vals), p=w)]
        err["phonetic"][i] = True

    # keyboard typo in first name, last name or address
    ok["typo"][:] = True
    where = rng.integers(0, 3, size=n)
    for i in np.flatnonzero(rng.random(n) < rates.typo):
        arr = (first, last, address)[where[i]]
        new_value = _typo(arr[i], rng)
        if new_value is not None:
            arr[i] = new_value
            err["typo"][i] = True

    # OCR confusion in first or last name
    ocr_last = rng.random(n) < 0.5
    pattern = "|".join(src for src, _ in _OCR_CONFUSIONS)
    both = pd.Series(first, dtype=object) + " " + pd.Series(last, dtype=object)
    ok["ocr"] = both.str.lower().str.contains(pattern, regex=True).to_numpy(dtype=bool)
    for i in np.flatnonzero(ok["ocr"] & (rng.random(n) < rates.ocr)):
        order = (last, first) if ocr_last[i] else (first, last)
        for arr in order:
            new_value = _ocr(arr[i], rng)
            if new_value is not None:
                arr[i] = new_value
                err["ocr"][i] = True
                break

    # day and month transposed
    dob = b["dob"].to_numpy().astype("datetime64[D]")
    parts = pd.DatetimeIndex(dob)
    day, month = parts.day.to_numpy(), parts.month.to_numpy()
    ok["dob_swap"] = (day <= 12) & (day != month)
    hit = ok["dob_swap"] & (rng.random(n) < rates.dob_swap)
    swapped = pd.to_datetime(
        pd.DataFrame({"year": parts.year[hit], "month": day[hit], "day": month[hit]})
    ).to_numpy().astype("datetime64[D]")
    dob = dob.copy()
    dob[hit] = swapped
    err["dob_swap"] = hit

    b["first_name"], b["last_name"], b["address"] = first, last, address
    b["city"], b["zip"], b["dob"] = city, zipc, dob

    # missing values, last, so that an empty field carries no other error
    errors = pd.DataFrame(err)
    eligible = pd.DataFrame(ok)
    for f in RECORD_FIELDS:
        hit = rng.random(n) < rates.missing
        errors[f"missing_{f}"] = hit
        eligible[f"missing_{f}"] = True
        if hit.any():
            col = b[f].astype(object)
            col[hit] = None
            b[f] = col
    return errors, eligible


# --------------------------------------------------------------------------------------------
# The public entry points


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise GeneratorError(f"'{name}' must be a whole number of records, 0 or more.")


def _format_dates(dob: pd.Series, fmt: str) -> pd.Series:
    d = pd.to_datetime(dob)
    if fmt == "%Y-%m-%d":
        out = pd.Series(d.to_numpy().astype("datetime64[D]").astype(str), index=dob.index, dtype=object)
    else:
        out = d.dt.strftime(fmt).astype(object)
    out[dob.isna()] = None
    return out


def generate(
    n_a: int,
    n_b: int,
    *,
    overlap: float = 0.5,
    rates: ErrorRates | None = None,
    seed: int | None = None,
    date_format_a: str = "%Y-%m-%d",
    date_format_b: str = "%d/%m/%Y",
) -> LinkageData:
    """Two files of ``n_a`` and ``n_b`` person records; ``overlap`` of the smaller are in both.

    ``overlap`` is the share of ``min(n_a, n_b)`` records that belong to persons present in both
    files (the true pairs, one to one). Each file is in random order with ids of its own
    (``A0000001`` ..., ``B0000001`` ...). Dates are written with ``date_format_a`` and
    ``date_format_b`` (strftime), since holders rarely agree on one. ``seed=None`` draws a seed
    and records it in ``LinkageData.seed``.
    """
    _check_size("n_a", n_a)
    _check_size("n_b", n_b)
    if not (isinstance(overlap, (int, float)) and 0.0 <= float(overlap) <= 1.0):
        raise GeneratorError("'overlap' must be a share in [0, 1] of the smaller file's records.")
    rates = rates if rates is not None else ErrorRates()
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    rng = np.random.default_rng(seed)

    n_common = int(round(overlap * min(n_a, n_b)))
    people = _draw_people(n_a + n_b - n_common, rng)
    # persons 0..n_a-1 are in A; persons 0..n_common-1 and n_a.. are in B
    in_b = np.concatenate([np.arange(n_common), np.arange(n_a, len(people))])
    order_a = rng.permutation(n_a)
    order_b = rng.permutation(len(in_b))

    a = people.iloc[order_a].reset_index(drop=True)
    b = people.iloc[in_b[order_b]].reset_index(drop=True)
    ids_a = np.array([f"A{i:07d}" for i in range(1, n_a + 1)], dtype=object)
    ids_b = np.array([f"B{i:07d}" for i in range(1, n_b + 1)], dtype=object)
    errors, eligible = _apply_errors(b, rates, rng)

    # truth: person p < n_common is at row pos_a[p] of A and pos_b[p] of B
    pos_a = np.empty(n_a, dtype=np.int64)
    pos_a[order_a] = np.arange(n_a)
    pos_b = np.empty(len(in_b), dtype=np.int64)
    pos_b[order_b] = np.arange(len(in_b))
    common = np.arange(n_common)
    truth = pd.DataFrame({"id_a": ids_a[pos_a[common]], "id_b": ids_b[pos_b[common]]})
    truth = truth.sort_values("id_a", kind="stable").reset_index(drop=True)

    a["dob"] = _format_dates(a["dob"], date_format_a)
    b["dob"] = _format_dates(b["dob"], date_format_b)
    a.insert(0, "id_a", ids_a)
    b.insert(0, "id_b", ids_b)
    a = a.astype({f: "string" for f in RECORD_FIELDS})
    b = b.astype({f: "string" for f in RECORD_FIELDS})
    errors.insert(0, "id_b", ids_b)
    eligible.insert(0, "id_b", ids_b)
    return LinkageData(a, b, truth, errors.set_index("id_b"), eligible.set_index("id_b"), seed, rates)


def write_linkage_data(data: LinkageData, directory: str | Path) -> dict[str, Path]:
    """Write a.csv, b.csv, truth.csv and generator.json (seed, stated and realised rates)."""
    import json

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"{k}.csv" for k in ("a", "b", "truth")}
    data.a.to_csv(paths["a"], index=False)
    data.b.to_csv(paths["b"], index=False)
    data.truth.to_csv(paths["truth"], index=False)
    paths["generator"] = out / "generator.json"
    paths["generator"].write_text(json.dumps({
        "seed": data.seed, "rows_a": len(data.a), "rows_b": len(data.b),
        "true_pairs": len(data.truth), "stated_rates": asdict(data.rates),
        "realised_rates": data.realised_rates(),
    }, indent=2))
    return paths
