"""Linking FEBRL4 (real benchmark data with true pairs): quality, self-links, wrong keys."""

from __future__ import annotations

import numpy as np
import pytest

from _febrl import FIELDS, febrl4, true_partner
from confidata.pprl import EncodingMismatchError, SecretKey, encode, parse_fields
from confidata.pprl.link import FLOOR, link, valley_threshold
from confidata.pprl.similarity import dice_pairs

KEY = SecretKey(b"holders-shared-secret-0123456789")


@pytest.fixture(scope="module")
def febrl():
    a, b = febrl4()
    fields = parse_fields(FIELDS)
    enc_a = encode(a, id_column="rec_id", fields=fields, key=KEY, bad_dates="missing").encoding
    enc_b = encode(b, id_column="rec_id", fields=fields, key=KEY, bad_dates="missing").encoding
    return a, b, enc_a, enc_b


def _quality(matches, truth_pairs: int) -> tuple[float, float, float]:
    ids_a, ids_b = matches.iloc[:, 0], matches.iloc[:, 1]
    true_links = int((ids_a == ids_b.map(true_partner)).sum())
    precision = true_links / max(1, len(matches))
    recall = true_links / truth_pairs
    return precision, recall, 2 * precision * recall / max(1e-12, precision + recall)


def test_febrl4_f1_with_the_automatic_threshold(febrl):
    """FEBRL4 (5,000 x 5,000, every record with one corrupted duplicate): F1 >= 0.95. Every record
    has its match, so the scores have one mode and --auto keeps the floor: where 99% of random
    pairs score below (about 0.48 here), never under 0.4."""
    _, _, enc_a, enc_b = febrl
    result = link(enc_a, enc_b)
    assert result.blocking == "none" and result.compared == 25_000_000
    assert FLOOR <= result.threshold <= 0.55 and result.threshold_method.startswith("floor")
    precision, recall, f1 = _quality(result.matches, 5000)
    assert f1 >= 0.95, (precision, recall)
    assert list(result.matches.columns) == ["rec_id_a", "rec_id_b", "score"]


def test_febrl4_documented_threshold_and_lsh_blocking(febrl):
    """Threshold 0.6 (documented in README's pprl paragraph) with MinHash LSH blocking: F1 >= 0.95
    while scoring under 10% of the 25 million pairs."""
    _, _, enc_a, enc_b = febrl
    result = link(enc_a, enc_b, threshold=0.6, blocking="lsh")
    precision, recall, f1 = _quality(result.matches, 5000)
    assert f1 >= 0.95, (precision, recall)
    assert result.compared < 2_500_000
    assert (result.matches["score"] >= 0.6).all()


def test_a_file_linked_with_itself_gives_every_record_at_dice_one(febrl):
    _, _, enc_a, _ = febrl
    result = link(enc_a, enc_a, threshold=0.99)
    matches = result.matches
    assert len(matches) == len(enc_a)
    assert (matches["rec_id_a"] == matches["rec_id_b"]).all()
    assert (matches["score"] == 1.0).all()


def test_a_wrong_key_on_one_side_links_nothing(febrl):
    """Under another key, the true pairs score like unrelated records, and `link` refuses the pair of
    files by name; with the check value forged, no true pair is linked above chance."""
    _, b, enc_a, _ = febrl
    other = SecretKey(b"a-different-secret-of-32-bytes!!")
    enc_b = encode(b, id_column="rec_id", fields=parse_fields(FIELDS), key=other,
                   bad_dates="missing").encoding
    with pytest.raises(EncodingMismatchError, match="secret key"):
        link(enc_a, enc_b)
    index_a = {rid: i for i, rid in enumerate(enc_a.ids)}
    left = np.array([index_a[true_partner(r)] for r in enc_b.ids])
    right = np.arange(len(enc_b))
    wrong = dice_pairs(enc_a.words, enc_b.words, left, right)
    assert wrong.mean() < 0.4 and np.quantile(wrong, 0.99) < 0.5
    enc_b.header["key_check"] = enc_a.header["key_check"]  # a linkage unit that skips the check
    forged = link(enc_a, enc_b, threshold=0.6)
    _, recall, _ = _quality(forged.matches, 5000)
    assert recall < 0.01


def test_files_encoded_differently_are_refused_naming_the_parameter(febrl):
    a, _, enc_a, _ = febrl
    small = a.head(200)
    heavier = encode(small, id_column="rec_id", fields=parse_fields(FIELDS.replace("surname", "surname*20")),
                     key=KEY, bad_dates="missing").encoding
    with pytest.raises(EncodingMismatchError, match="Field 2 .*weight 8 in one file and 20"):
        link(enc_a, heavier)
    shorter = encode(small, id_column="rec_id", fields=parse_fields(FIELDS), key=KEY, bits=512,
                     bad_dates="missing").encoding
    with pytest.raises(EncodingMismatchError, match="filter length"):
        link(enc_a, shorter)


def test_auto_threshold_finds_the_valley_when_many_records_have_no_match(febrl):
    """A holds records 0-3749, B the duplicates of 1250-4999: 2,500 true pairs, 1,250 records on
    each side without a partner. --auto must still give F1 >= 0.95."""
    a, b, enc_a, enc_b = febrl
    number_a = a["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
    number_b = b["rec_id"].str.extract(r"rec-(\d+)-")[0].astype(int).to_numpy()
    keep_a, keep_b = number_a < 3750, number_b >= 1250
    sub_a = type(enc_a)(enc_a.ids[keep_a], enc_a.words[keep_a], enc_a.header)
    sub_b = type(enc_b)(enc_b.ids[keep_b], enc_b.words[keep_b], enc_b.header)
    result = link(sub_a, sub_b)
    precision, recall, f1 = _quality(result.matches, 2500)
    assert f1 >= 0.95, (precision, recall, result.threshold, result.threshold_method)


def test_valley_threshold_on_a_known_two_mode_histogram():
    histogram = np.zeros(100, dtype=np.int64)
    histogram[40:55] = 5000  # non-matches' best partners
    histogram[55:70] = 3
    histogram[70:100] = 800  # true matches
    threshold, method = valley_threshold(histogram, 0.4)
    assert 0.55 <= threshold <= 0.70 and "valley" in method


def test_quality_counts_on_known_pairs():
    import pandas as pd

    from confidata.pprl.quality import evaluate_links

    links = pd.DataFrame({"x": ["1", "2", "3", "4"], "y": ["a", "b", "c", "z"],
                          "score": [0.99, 0.95, 0.9, 0.5]})
    truth = pd.DataFrame({"id_a": ["1", "2", "3", "5", "6"], "id_b": ["a", "b", "c", "e", "f"]})
    quality = evaluate_links(links, truth)
    assert (quality.links, quality.true_pairs, quality.true_links) == (4, 5, 3)
    assert quality.precision == 0.75 and quality.recall == 0.6
    assert abs(quality.f1 - 2 * 0.75 * 0.6 / 1.35) < 1e-12
    assert sum(quality.histograms["true links"]) == 3 and sum(quality.histograms["false links"]) == 1
    assert quality.histograms["false links"][25] == 1  # 0.50 falls in the bin [0.50, 0.52)
