"""The keyed CLK encoder: fields, normalisation, dates, keys, hardening and the .clk file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from _febrl import FIELDS, febrl4
from confidata.pprl import (
    KeyFileError,
    LinkageError,
    SecretKey,
    encode,
    parse_fields,
    parse_hardening,
    read_clk,
    read_key,
    write_clk,
)
from confidata.pprl.similarity import dice_pairs, popcounts

KEY = SecretKey(b"holders-shared-secret-0123456789")


def _people(**columns) -> pd.DataFrame:
    base = {"rid": [f"r{i}" for i in range(len(next(iter(columns.values()))))]}
    return pd.DataFrame(base | columns)


def test_field_list_syntax_and_its_errors():
    specs = parse_fields("first,last*12,dob:date(%d/%m/%Y),zip:exact")
    # defaults: a text field 80 bits per value, a date 14 bits per token, a code 12
    assert [(s.column, s.kind, s.weight, s.per_value) for s in specs] == [
        ("first", "text", 0, 80), ("last", "text", 12, None), ("dob", "date", 14, None),
        ("zip", "exact", 12, None)]
    assert parse_fields("a/40,b:date*5")[1].weight == 5
    assert specs[2].date_format == "%d/%m/%Y"
    with pytest.raises(LinkageError, match="kind 'name'"):
        parse_fields("first:name")
    with pytest.raises(LinkageError, match="only a date field"):
        parse_fields("zip:exact(%Y)")
    with pytest.raises(LinkageError, match="twice"):
        parse_fields("first,first")


def test_missing_field_column_is_named():
    frame = _people(first=["ann"], last=["lee"])
    with pytest.raises(LinkageError, match="'surname'.*not in the file"):
        encode(frame, id_column="rid", fields=parse_fields("first,surname"), key=KEY)


def test_normalisation_makes_spellings_equal_and_counts_what_changed():
    frame = _people(name=["Müller", "  MULLER ", "muller", "O'Brien-Smith"])
    result = encode(frame, id_column="rid", fields=parse_fields("name"), key=KEY)
    words = result.encoding.words
    assert (words[0] == words[1]).all() and (words[1] == words[2]).all()
    report = result.report[0]
    assert (report.accents, report.case, report.whitespace, report.punctuation) == (1, 3, 1, 1)
    assert all(not isinstance(v, str) or v in ("name", "text") for v in report.as_dict().values())


def test_dates_in_each_files_own_format_encode_alike():
    iso = _people(dob=["1987-04-12", "1950-12-31", "2001-01-02"])
    european = _people(dob=["12/04/1987", "31/12/1950", "02/01/2001"])
    declared = parse_fields("dob:date(%d/%m/%Y)")
    a = encode(iso, id_column="rid", fields=parse_fields("dob:date"), key=KEY)
    b = encode(european, id_column="rid", fields=declared, key=KEY)
    assert (a.encoding.words == b.encoding.words).all()
    assert a.report[0].date_format == "%Y-%m-%d"
    # detected without a declaration: 31/12 rules out month-first
    c = encode(european, id_column="rid", fields=parse_fields("dob:date"), key=KEY)
    assert c.report[0].date_format == "%d/%m/%Y"
    assert (c.encoding.words == a.encoding.words).all()


def test_unreadable_dates_are_counted_never_shown():
    frame = _people(dob=["1987-04-12", "SENTINEL-NOT-A-DATE", "1987-13-45", "1990-01-01"])
    with pytest.raises(LinkageError) as caught:
        encode(frame, id_column="rid", fields=parse_fields("dob:date"), key=KEY)
    assert "2 rows" in str(caught.value) and "SENTINEL" not in str(caught.value)
    assert "13-45" not in str(caught.value)
    result = encode(frame, id_column="rid", fields=parse_fields("dob:date"), key=KEY, bad_dates="missing")
    assert result.report[0].dates_unreadable == 2
    assert popcounts(result.encoding.words)[1] == 0


def test_key_files(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist"):
        read_key(tmp_path / "none.key")
    short = tmp_path / "short.key"
    short.write_bytes(b"tooshort\n")
    with pytest.raises(KeyFileError, match="8 bytes"):
        read_key(short)
    good = tmp_path / "good.key"
    good.write_bytes(b"x" * 32 + b"\n")
    assert read_key(good).check_value() == SecretKey(b"x" * 32).check_value()
    assert "x" not in repr(read_key(good))


def test_clk_round_trip_keeps_ids_bits_and_a_header_without_values(tmp_path):
    a, _ = febrl4()
    a = a.head(300)
    result = encode(a, id_column="rec_id", fields=parse_fields(FIELDS), key=KEY, bad_dates="missing",
                    hardening=parse_hardening("xor"))
    path = tmp_path / "a.clk"
    write_clk(path, result.encoding)
    back = read_clk(path)
    assert (back.words == result.encoding.words).all() and list(back.ids) == list(a["rec_id"])
    table = pq.read_table(path)
    assert table.column_names == ["rec_id", "clk"]
    assert table.schema.field("clk").type.byte_width == 512 // 8
    header = json.loads(table.schema.metadata[b"confidata.pprl"])
    assert header["bits"] == 512 and header["encoding"]["filter_bits"] == 1024
    columns = FIELDS.replace(":date", "").replace(":exact", "").split(",")
    assert [f["column"] for f in header["fields"]] == columns
    text = json.dumps(header).lower()
    for column in ("given_name", "surname", "suburb", "address_1"):
        for value in a[column].head(50):
            if len(value) > 3:
                assert value not in text


def test_similar_records_share_bits_and_unrelated_do_not():
    a, b = febrl4()
    a, b = a.head(400), b.copy()
    b = b[b["rec_id"].str.replace("-dup-0", "-org").isin(set(a["rec_id"]))]
    fields = parse_fields(FIELDS)
    ea = encode(a, id_column="rec_id", fields=fields, key=KEY, bad_dates="missing").encoding
    eb = encode(b, id_column="rec_id", fields=fields, key=KEY, bad_dates="missing").encoding
    index = {r: i for i, r in enumerate(ea.ids)}
    left = np.array([index[r.replace("-dup-0", "-org")] for r in eb.ids])
    true = dice_pairs(ea.words, eb.words, left, np.arange(len(eb)))
    unrelated = dice_pairs(ea.words, eb.words, np.roll(left, 7), np.arange(len(eb)))
    assert np.median(true) > 0.85 and np.median(unrelated) < 0.4


@pytest.mark.parametrize("steps", ["balance", "xor", "rule90", "diffusion", "salt(date_of_birth)",
                                   "salt(date_of_birth),diffusion(4),xor,balance"])
def test_hardening_keeps_true_pairs_apart_from_unrelated_ones(steps):
    """Each hardening (and all combined) still scores the FEBRL duplicates of 300 records above
    unrelated pairs; balance gives every filter exactly half its bits."""
    a, b = febrl4()
    a = a.head(300)
    b = b[b["rec_id"].str.replace("-dup-0", "-org").isin(set(a["rec_id"]))]
    fields, hardening = parse_fields(FIELDS), parse_hardening(steps)
    options = {"id_column": "rec_id", "fields": fields, "key": KEY, "bad_dates": "missing"}
    ea = encode(a, hardening=hardening, **options).encoding
    eb = encode(b, hardening=hardening, **options).encoding
    plain = encode(a, id_column="rec_id", fields=fields, key=KEY, bad_dates="missing").encoding
    assert not np.array_equal(ea.words[:, :plain.words.shape[1]], plain.words[:, :ea.words.shape[1]])
    index = {r: i for i, r in enumerate(ea.ids)}
    left = np.array([index[r.replace("-dup-0", "-org")] for r in eb.ids])
    true = dice_pairs(ea.words, eb.words, left, np.arange(len(eb)))
    unrelated = dice_pairs(ea.words, eb.words, np.roll(left, 11), np.arange(len(eb)))
    assert np.median(true) > np.quantile(unrelated, 0.99)
    if steps.endswith("balance"):
        assert (popcounts(ea.words) == ea.bits // 2).all()


def test_rule90_is_the_xor_of_the_two_neighbours():
    from confidata.pprl.hardening import _rule90

    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**63, size=(5, 4), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    bits = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")
    expected = np.roll(bits, 1, axis=1) ^ np.roll(bits, -1, axis=1)
    got = np.unpackbits(_rule90(words).view(np.uint8), axis=1, bitorder="little")
    assert (got == expected).all()


def test_hardening_syntax():
    assert [s.name for s in parse_hardening("salt(dob), balance")] == ["salt", "balance"]
    with pytest.raises(LinkageError, match="Unknown hardening step 'bloom'"):
        parse_hardening("bloom")
    with pytest.raises(LinkageError, match="needs the field"):
        parse_hardening("salt")


def test_bits_per_value_gives_long_and_short_values_alike_weight():
    """`/B` spreads B bits over a value's tokens: a 21-bigram address and a 4-bigram name set
    about as many bits; with `*K` the address sets five times more."""
    frame = _people(text=["ann", "12 washington boulevard"])
    per_value = encode(frame, id_column="rid", fields=parse_fields("text/60"), key=KEY).encoding
    per_token = encode(frame, id_column="rid", fields=parse_fields("text*15"), key=KEY).encoding
    short, long = popcounts(per_value.words)
    assert 0.6 < short / long < 1.4
    short, long = popcounts(per_token.words)
    assert long > 3 * short
    assert parse_fields("a/40")[0].per_value == 40 and parse_fields("a/40")[0].weight == 0
    # a typo that adds a bigram keeps most bits: the first k positions are shared for every k
    typo = encode(_people(text=["annn", "ann"]), id_column="rid", fields=parse_fields("text/60"),
                  key=KEY).encoding
    both = np.bitwise_count(typo.words[0] & typo.words[1]).sum()
    assert 2 * both / popcounts(typo.words).sum() > 0.6
