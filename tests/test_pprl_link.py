"""Linking FEBRL4 (real benchmark data with true pairs): quality, self-links, wrong keys."""

from __future__ import annotations

import numpy as np
import pytest

from _febrl import FIELDS, febrl4, true_partner
from confidata.pprl import EncodingMismatchError, SecretKey, encode, parse_fields
from confidata.pprl.generate import generate
from confidata.pprl.link import FLOOR, link, null_threshold, runner_up_scores, valley_threshold
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
    """FEBRL4 (5,000 x 5,000, every record with one corrupted duplicate): F1 >= 0.99 with --auto.
    The runner-ups of the records sure of their match say how look-alikes score; with hardly any
    look-alikes among the assigned pairs the threshold stays low (0.58 with the default weights),
    above the floor where 99% of random pairs score below."""
    _, _, enc_a, enc_b = febrl
    result = link(enc_a, enc_b)
    assert result.blocking == "none" and result.compared == 25_000_000
    assert FLOOR <= result.threshold <= 0.65 and "runner-up" in result.threshold_method
    precision, recall, f1 = _quality(result.matches, 5000)
    assert f1 >= 0.99, (precision, recall)
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
    with pytest.raises(EncodingMismatchError, match="Field 2 .*80 bits per value in one file and 20 bits"):
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


def test_null_threshold_on_known_overlapping_scores():
    """Matches ~ N(0.85, 0.08), look-alikes ~ N(0.58, 0.04) (a million a side: they overlap the
    matches' tail and no dip parts them); the runner-ups follow the look-alikes' law. The chosen
    threshold's true F1 is within 0.003 of the best threshold's."""
    rng = np.random.default_rng(5)
    matches = np.clip(rng.normal(0.85, 0.08, 50_000), 0.4, 1.0)
    alike = np.clip(rng.normal(0.58, 0.04, 50_000), 0.4, 1.0)
    runner = np.clip(rng.normal(0.58, 0.04, 20_000), 0.4, 1.0)
    scores = np.concatenate([matches, alike])

    def f1(t):
        tp, fp = (matches >= t).sum(), (alike >= t).sum()
        return 2 * tp / (2 * tp + fp + (len(matches) - tp))

    threshold, method = null_threshold(scores, runner, FLOOR)
    best = max(f1(t) for t in np.arange(0.4, 1.0, 0.01))
    assert "runner-up" in method and f1(threshold) >= best - 0.003, (threshold, f1(threshold), best)
    assert null_threshold(scores, runner[:100], FLOOR) is None  # too few to estimate from


def test_runner_up_scores_are_second_best_of_sure_records():
    left = np.array([0, 0, 0, 1, 1, 2])
    right = np.array([5, 6, 7, 5, 6, 7])
    score = np.array([0.95, 0.60, 0.55, 0.80, 0.70, 0.99], dtype=np.float32)
    # side A: record 0 (best 0.95) gives 0.60; record 1 (best 0.80) is not sure; record 2 has one
    # side B: record 5 (best 0.95) gives 0.80; 6 (best 0.70) not sure; 7 (best 0.99) gives 0.55
    assert sorted(runner_up_scores(left, right, score).astype(float).round(2).tolist()) == [0.55, 0.6, 0.8]


@pytest.mark.parametrize("n", [1000, 2500, 5000])
def test_auto_threshold_on_generated_files_of_three_sizes(n):
    """Generated persons with realistic errors, half of each file in the other, default weights:
    --auto gives F1 >= 0.97 and within 0.01 of the best threshold's (found with the truth)."""
    data = generate(n, n, overlap=0.5, seed=20 + n)
    fields = parse_fields("first_name,last_name,dob:date,sex:exact,zip:exact,address,city")
    enc_a = encode(data.a, id_column="id_a", fields=fields, key=KEY).encoding
    enc_b = encode(data.b, id_column="id_b", fields=fields, key=KEY).encoding
    truth = set(zip(data.truth.iloc[:, 0], data.truth.iloc[:, 1], strict=True))
    every = link(enc_a, enc_b, threshold=FLOOR).matches

    def f1(t):
        kept = every[every["score"] >= t]
        tp = sum((x, y) in truth for x, y in zip(kept.iloc[:, 0], kept.iloc[:, 1], strict=True))
        return 2 * tp / (len(kept) + len(truth))

    auto = link(enc_a, enc_b)
    best = max(f1(t) for t in np.arange(0.45, 0.95, 0.01))
    assert f1(auto.threshold) >= max(0.97, best - 0.01), (auto.threshold, auto.threshold_method, best)


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
