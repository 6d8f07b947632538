"""The field list of an encoding: which columns, compared how, with what weight.

A holder writes ``"first_name,last_name,dob:date,zip:exact*30"``: each entry is
``COLUMN[:KIND][*K]`` or ``COLUMN[:KIND][/B]``. KIND says how a value becomes tokens (`text`:
q-grams of the normalised string, so a typo changes only a few; `exact`: the whole normalised
value as one token, for codes such as a postcode or sex; `date` or `date(%d/%m/%Y)`: year, month
and day as three tokens, read in the file's own format, detected when not declared). K, the
weight, is the number of hash functions (bits set) per token: a field that identifies better
gets more bits, as in Schnell's CLK and clkhash's schemas. B is a budget of bits per value
instead: each value's tokens get round(B / tokens) hash functions each, so a long address sets
about as many bits as a short first name (clkhash's "bits per feature"); with double hashing the
first k positions of a token are the same for every k, so a typo that changes a value's token
count moves few bits. On generated person records where 8% of people moved, per-token weights
let a long address (twenty bigrams) outweigh both names, and moved people stop matching:
``first_name/80,last_name/80,address/40,city/40`` (best F1 0.989 on 20,000 a side) or weights
chosen per field (``first_name*10,last_name*10,dob:date*14,address*3,city*3,zip:exact*6``,
0.991) beat 8 bits per bigram (0.958).

Defaults, when an entry gives no weight (`DEFAULTS`): a text field gets a budget of 80 bits per
value, a date 14 bits per token (42 per date), an exact code 12. Why: a field's weight should
follow how well agreement on it tells a match from a non-match (Fellegi-Sunter's log m/u), not
how long its values are. Per-token weights let a long address outweigh both names; a budget per
value, clkhash's ``bitsPerFeature``, gives a name and an address alike weight whatever their
length. A date of birth agrees by chance for about 1 pair in 25,000 and is the field the
probabilistic linkers (splink's and fastLink's trained m/u weights, clkhash's example schema at
30 bits a digit) weigh most, so its three tokens get more bits than a bigram. On the bench's
generated files (7 fields, 8% moved) these defaults lift F1 from 0.955 (8 bits per bigram, 10
per date token) to 0.992 at 10,000 a side and 0.979 at 100,000; weights chosen per field by
someone who knows the columns' roles do a little better still (0.994 and 0.989 with the second
list above).

Fields are matched between the two holders by position and kind, not by column name: one file
may call a column ``surname`` and the other ``last_name``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from confidata.pprl.errors import LinkageError

__all__ = ["DEFAULTS", "FieldSpec", "parse_fields"]

# An entry without *K or /B: (hash functions per token, bits per value or None). With four to
# seven fields a 1024-bit filter is then about a third full: unrelated records score Dice ~0.35,
# true matches 0.6-1, and F1 on FEBRL4 stays above 0.99 (tests/test_pprl_link.py).
DEFAULTS = {"text": (0, 80), "exact": (12, None), "date": (14, None)}
KINDS = tuple(DEFAULTS)

_ENTRY = re.compile(
    r"^(?P<column>[^:*]+?)\s*(?::\s*(?P<kind>[a-z]+)\s*(?:\((?P<fmt>[^)]*)\))?)?\s*(?:\*\s*(?P<k>\d+)|/\s*(?P<b>\d+))?$"
)


@dataclass(frozen=True)
class FieldSpec:
    """One field of the encoding.

    `column` is this holder's column name (not compared across holders); `kind`, `weight` and
    `q` must agree between holders; `date_format` is this holder's own way of writing dates
    (None: detected from the values).
    """

    column: str
    kind: str = "text"
    weight: int = 8
    q: int = 2
    date_format: str | None = None
    per_value: int | None = None  # bits per value (B); when set, the weight is not used

    def public(self) -> dict:
        """What the .clk header records about the field (the column name and format included:
        they are the holder's own labels, not data)."""
        return asdict(self)

    def comparable(self) -> tuple:
        """What two holders' fields must share for their bits to mean the same."""
        return (self.kind, self.weight, self.per_value, self.q if self.kind == "text" else None)


def parse_fields(text: str, *, q: int = 2) -> tuple[FieldSpec, ...]:
    """Read ``"first_name,last_name,dob:date(%d/%m/%Y),zip:exact*30"`` into field specs."""
    if not 1 <= q <= 3:
        raise LinkageError(f"--q must be 1, 2 or 3 (the q-gram length of text fields); got {q}.")
    entries = [e.strip() for e in _split(text)]
    if not entries or any(not e for e in entries):
        raise LinkageError(
            "The field list is empty or has an empty entry; write it as "
            "'first_name,last_name,dob:date,zip' (COLUMN[:KIND][*WEIGHT], comma-separated)."
        )
    specs = []
    for position, entry in enumerate(entries, start=1):
        match = _ENTRY.match(entry)
        if not match:
            raise LinkageError(
                f"Field {position} of --fields cannot be read; write COLUMN[:KIND][*WEIGHT], "
                "e.g. 'dob:date(%d/%m/%Y)' or 'zip:exact*30'."
            )
        kind = match["kind"] or "text"
        if kind not in KINDS:
            raise LinkageError(
                f"Field {position} ('{match['column']}') has kind '{kind}'; use one of "
                f"{', '.join(KINDS)}."
            )
        if match["fmt"] is not None and kind != "date":
            raise LinkageError(
                f"Field {position} ('{match['column']}') gives a format in brackets, which only "
                "a date field takes (dob:date(%d/%m/%Y))."
            )
        weight, per_value = DEFAULTS[kind]  # no *K and no /B: the kind's default
        if match["k"]:
            weight, per_value = int(match["k"]), None
        elif match["b"]:
            weight, per_value = 0, int(match["b"])
        if per_value is None and not 1 <= weight <= 200:
            raise LinkageError(
                f"Field {position} ('{match['column']}') has weight {weight}; use 1 to 200 hash "
                "functions per token."
            )
        if per_value is not None and not 1 <= per_value <= 1000:
            raise LinkageError(
                f"Field {position} ('{match['column']}') has {per_value} bits per value; use "
                "1 to 1000."
            )
        specs.append(FieldSpec(column=match["column"].strip(), kind=kind, weight=weight, q=q,
                               date_format=(match["fmt"] or None), per_value=per_value))
    names = [s.column for s in specs]
    if len(set(names)) != len(names):
        raise LinkageError("A column appears twice in --fields; list each column once.")
    return tuple(specs)


def _split(text: str) -> list[str]:
    """Split on commas outside brackets (a date format may hold none, but be safe)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
