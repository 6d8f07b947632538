"""Linkage quality against known true pairs: precision, recall, F1, and the score histograms.

``confidata pprl evaluate`` reads the links (matches.csv from `link`) and a truth file (the pairs
of record ids that are the same person, e.g. FEBRL's or the generator's), counts the true
links, and draws the scores of the true links beside the false ones: a threshold sits well when
the false links' scores lie below it and the true ones above. With the two .clk files, it also
scores every true pair (found or missed) and a sample of unrelated pairs, so the histogram shows
what the threshold cut off. The page is one self-contained HTML file drawn with the report
package's SVG histogram (no script, no network), under the same Content-Security-Policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape

import numpy as np
import pandas as pd

from confidata import __version__
from confidata.pprl.clkfile import Encoding
from confidata.pprl.errors import LinkageError
from confidata.pprl.similarity import dice_pairs
from confidata.report import _svg
from confidata.report._html import _CSS, CSP

__all__ = ["LinkQuality", "evaluate_links", "render_quality_html"]

EDGES = [round(0.0 + 0.02 * i, 2) for i in range(51)]
SAMPLE_OTHER_PAIRS = 100_000


@dataclass
class LinkQuality:
    """Counts and rates of the links against the truth, and histograms of scores (bins of 0.02)."""

    links: int
    true_pairs: int
    true_links: int
    precision: float
    recall: float
    f1: float
    histograms: dict[str, list[int]] = field(default_factory=dict)
    id_columns: tuple[str, str] = ("", "")

    def as_dict(self) -> dict:
        return {"links": self.links, "true_pairs": self.true_pairs, "true_links": self.true_links,
                "precision": self.precision, "recall": self.recall, "f1": self.f1,
                "histograms": self.histograms, "edges": EDGES}


def _pairs(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    if frame.shape[1] < 2:
        raise LinkageError(f"The {what} needs two columns of record ids (file A's, then file B's).")
    out = frame.iloc[:, :2].astype("string")
    out.columns = ["a", "b"]
    if out.isna().any().any():
        raise LinkageError(
            f"The {what} has {int(out.isna().any(axis=1).sum())} rows with an empty id; every row "
            "needs both ids."
        )
    return out


def evaluate_links(matches: pd.DataFrame, truth: pd.DataFrame, *,
                   encodings: tuple[Encoding, Encoding] | None = None, seed: int = 0) -> LinkQuality:
    """Precision, recall and F1 of `matches` (ids of A, ids of B, score) against `truth`."""
    if "score" not in matches.columns:
        raise LinkageError("The matches file has no 'score' column; pass the CSV written by `pprl link`.")
    links, true = _pairs(matches, "matches file"), _pairs(truth, "truth file")
    true = true.drop_duplicates()
    key_links = links["a"] + "\x1f" + links["b"]
    key_true = set((true["a"] + "\x1f" + true["b"]).tolist())
    is_true = key_links.isin(key_true).to_numpy(dtype=bool)
    tp = int(is_true.sum())
    precision = tp / len(links) if len(links) else 0.0
    recall = tp / len(true) if len(true) else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    scores = pd.to_numeric(matches["score"], errors="coerce").to_numpy(dtype=float)
    histograms = {"true links": _hist(scores[is_true]), "false links": _hist(scores[~is_true])}
    if encodings is not None:
        histograms.update(_pair_histograms(true, encodings, seed))
    return LinkQuality(links=len(links), true_pairs=len(true), true_links=tp, precision=precision,
                       recall=recall, f1=f1, histograms=histograms,
                       id_columns=(str(matches.columns[0]), str(matches.columns[1])))


def _hist(scores: np.ndarray) -> list[int]:
    counts, _ = np.histogram(scores[np.isfinite(scores)], bins=EDGES)
    return counts.astype(int).tolist()


def _pair_histograms(true: pd.DataFrame, encodings: tuple[Encoding, Encoding], seed: int) -> dict:
    """Dice of every true pair present in both files, and of a sample of unrelated pairs."""
    a, b = encodings
    index_a = pd.Index(pd.array(a.ids, dtype="string"))
    index_b = pd.Index(pd.array(b.ids, dtype="string"))
    left, right = index_a.get_indexer(true["a"]), index_b.get_indexer(true["b"])
    found = (left >= 0) & (right >= 0)
    if not found.any():
        raise LinkageError(
            "No true pair's ids are in the two .clk files; pass the files in the order of the truth "
            "file's columns (A first)."
        )
    true_scores = dice_pairs(a.words, b.words, left[found], right[found])
    rng = np.random.default_rng(seed)
    n = min(SAMPLE_OTHER_PAIRS, len(a) * len(b))
    sl, sr = rng.integers(0, len(a), n), rng.integers(0, len(b), n)
    pair_set = set(zip(left[found].tolist(), right[found].tolist(), strict=True))
    unrelated = np.array([(x, y) not in pair_set for x, y in zip(sl.tolist(), sr.tolist(), strict=True)])
    other_scores = dice_pairs(a.words, b.words, sl[unrelated], sr[unrelated])
    return {"true pairs": _hist(true_scores), "other pairs": _hist(other_scores)}


def render_quality_html(quality: LinkQuality, *, title: str = "Record linkage quality",
                        sources: dict[str, str] | None = None) -> str:
    """One self-contained HTML page: the rates, the counts and the score histograms."""
    e = escape
    rows = [("Precision", f"{quality.precision:.4f}", "share of the links that are true pairs"),
            ("Recall", f"{quality.recall:.4f}", "share of the true pairs that were linked"),
            ("F1", f"{quality.f1:.4f}", "harmonic mean of precision and recall"),
            ("Links", f"{quality.links:,}", "pairs in the matches file"),
            ("True pairs", f"{quality.true_pairs:,}", "pairs in the truth file"),
            ("True links", f"{quality.true_links:,}", "links that are true pairs")]
    table = "".join(f"<tr><th>{e(a)}</th><td class='num'>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in rows)
    figures = []
    links = {k: quality.histograms[k] for k in ("true links", "false links") if k in quality.histograms}
    figures.append(_figure("fig-link-scores", links, "Dice scores of the links: true links (matches) "
                           "against false links (non-matches), each as a share of its own count."))
    pairs = {k: quality.histograms[k] for k in ("true pairs", "other pairs") if k in quality.histograms}
    if pairs:
        figures.append(_figure("fig-pair-scores", pairs, "Dice scores of every true pair (linked or "
                               "missed) against a random sample of unrelated pairs: the threshold "
                               "belongs in the gap between them."))
    source_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in (sources or {}).items())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{e(title)}</h1><h2>Quality</h2><table>{table}</table>"
        f"<h2>Scores</h2>{''.join(figures)}"
        f"<h2>Files</h2><table>{source_rows}</table>"
        f"<footer>confidata {e(__version__)}, {e(stamp)}. The page holds record counts and "
        f"scores only, no record id or value.</footer></main></body></html>"
    )


def _figure(fig_id: str, series: dict[str, list[int]], caption: str) -> str:
    svg = _svg.histogram(EDGES, series, label=caption, x_label="Dice score")
    return f'<figure id="{fig_id}">{svg}<figcaption>{escape(caption)}</figcaption></figure>'
