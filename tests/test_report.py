"""The report renderer: content and order, escaping, self-containment, the public variant's
suppression of small cells and extremes, safe writing, and a real headless browser loading it."""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from confidata.errors import ConfidataError, OutputExistsError
from confidata.report import ReportError, render_report, write_report

MIN_COUNT = 10
# labels of real bins whose count is below MIN_COUNT, and labels that show a real min or max
SMALL_LABELS = ["LEGALLY SEPARATED", "DE FACTO SEPARATED"]
EXTREME_LABELS = ["[16, 24]", "(71, 97]"]
FIXED_FIGURES = ["fig-pairs", "fig-propensity", "fig-ci-overlap", "fig-dcr", "fig-risk-utility"]


def example_evaluation() -> dict:
    """An SD2011-like evaluation, by hand: 3 columns, every plot kind, risk_utility not computed."""
    return {
        "title": "SD2011 extract: CART synthesis for testing analysis",
        "verdict": "warn",
        "verdict_reason": "General utility passes, but one two-way relationship is weakened.",
        "use_case": {
            "name": "testing_analysis",
            "title": "Testing analysis",
            "purpose": "Researchers develop code before going into the secure lab.",
        },
        "files": {
            "real": {"name": "sd2011_train.csv", "rows": 4000, "columns": 3, "sha256": "ab" * 32},
            "synthetic": {"name": "sd2011_syn.csv", "rows": 4000, "columns": 3, "sha256": "cd" * 32},
            "holdout": {"name": "sd2011_holdout.csv", "rows": 1000, "columns": 3, "sha256": "ef" * 32},
        },
        "measures": [
            {
                "name": "pmse",
                "family": "general utility",
                "verdict": "pass",
                "statistic": "s_pmse",
                "observed": 1.31,
                "rule": "pass if S_pMSE <= 3; warn if <= 10; else fail",
                "reason": "S_pMSE near 1 is what two samples of one population give.",
                "source": "Snoke et al. (2018); synthpop utility.gen",
                "value": 0.00042,
                "reference": 0.00032,
                "reference_kind": "null expectation",
                "direction": "lower is better",
                "ci": [0.00031, 0.00055],
                "n": 8000,
                "interpretation": "A classifier separates the files only slightly better than chance.",
                "citation": "Snoke J. et al. (2018) https://doi.org/10.1111/rssa.12358",
                "details": {"model": "logit", "permutations": 0},
            },
            {
                "name": "two_way_tvd",
                "family": "general utility",
                "verdict": "warn",
                "statistic": "max_tvd",
                "observed": 0.14,
                "rule": "pass if max TVD <= 0.1; warn if <= 0.2; else fail",
                "reason": "A gap above 0.1 changes cross-tabulations users will publish.",
                "source": "office practice",
                "value": 0.14,
                "reference": 0.03,
                "reference_kind": "real holdout",
                "direction": "lower is better",
                "ci": None,
                "n": None,
                "interpretation": "The age by marital status table differs most.",
                "citation": "",
                "details": {},
            },
            {
                "name": "dcr",
                "family": "disclosure risk",
                "verdict": "pass",
                "statistic": "share_closer",
                "observed": 0.49,
                "rule": "pass if share <= 0.55",
                "reason": "Half is what chance gives.",
                "source": "Platzer & Reutterer (2021)",
                "value": 0.49,
                "reference": 0.5,
                "reference_kind": "random baseline",
                "direction": "lower is better",
                "ci": [0.46, 0.52],
                "n": 1000,
                "interpretation": "Synthetic records are no closer to training than holdout ones.",
                "citation": "Platzer M., Reutterer T. (2021)",
                "details": {"closest_records": [{"row": 17, "distance": 0.0}]},
            },
            {
                "name": "tcap",
                "family": "disclosure risk",
                "verdict": "info",
                "statistic": "tcap",
                "observed": None,
                "rule": "reported only",
                "reason": "",
                "source": "",
                "value": None,
                "reference": None,
                "reference_kind": "",
                "direction": "lower is better",
                "ci": None,
                "n": None,
                "interpretation": "Not computed.",
                "citation": "Taub et al. (2018)",
                "details": {"error": "No target column was given; pass --target."},
            },
        ],
        "plots": {
            "marginals": [
                {
                    "column": "sex",
                    "kind": "categorical",
                    "bins": [
                        {"label": "FEMALE", "real": 2180, "synthetic": 2150, "extreme": False},
                        {"label": "MALE", "real": 1820, "synthetic": 1850, "extreme": False},
                    ],
                },
                {
                    "column": "marital",
                    "kind": "categorical",
                    "bins": [
                        {"label": "MARRIED", "real": 2410, "synthetic": 2380, "extreme": False},
                        {"label": "SINGLE", "real": 980, "synthetic": 1001, "extreme": False},
                        {"label": "WIDOWED", "real": 600, "synthetic": 611, "extreme": False},
                        {"label": "LEGALLY SEPARATED", "real": 3, "synthetic": 5, "extreme": False},
                        {"label": "DE FACTO SEPARATED", "real": 7, "synthetic": 3, "extreme": False},
                    ],
                },
                {
                    "column": "age",
                    "kind": "numeric",
                    "bins": [
                        {"label": "[16, 24]", "real": 800, "synthetic": 790, "extreme": True},
                        {"label": "(24, 38]", "real": 800, "synthetic": 812, "extreme": False},
                        {"label": "(38, 52]", "real": 800, "synthetic": 805, "extreme": False},
                        {"label": "(52, 71]", "real": 800, "synthetic": 797, "extreme": False},
                        {"label": "(71, 97]", "real": 800, "synthetic": 796, "extreme": True},
                    ],
                },
            ],
            "pairs": {
                "columns": ["sex", "marital", "age"],
                "tvd": [[None, 0.02, 0.03], [0.02, None, 0.14], [0.03, 0.14, None]],
            },
            "propensity": {
                "edges": [0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7],
                "real": [4, 700, 1400, 1300, 590, 6],
                "synthetic": [2, 580, 1310, 1390, 710, 8],
            },
            "ci_overlap": [
                {
                    "term": "(Intercept)",
                    "real": 7.91,
                    "real_lo": 7.80,
                    "real_hi": 8.02,
                    "synthetic": 7.95,
                    "synthetic_lo": 7.84,
                    "synthetic_hi": 8.06,
                    "overlap": 0.82,
                },
                {
                    "term": "age",
                    "real": 0.011,
                    "real_lo": 0.008,
                    "real_hi": 0.014,
                    "synthetic": 0.009,
                    "synthetic_lo": 0.006,
                    "synthetic_hi": 0.012,
                    "overlap": 0.67,
                },
                {
                    "term": "sexMALE",
                    "real": 0.21,
                    "real_lo": 0.15,
                    "real_hi": 0.27,
                    "synthetic": 0.12,
                    "synthetic_lo": 0.06,
                    "synthetic_hi": 0.18,
                    "overlap": 0.25,
                },
            ],
            "dcr": {
                "edges": [0.0, 0.05, 0.1, 0.2, 0.4, 0.8],
                "synthetic": [3, 120, 400, 380, 97],
                "holdout": [1, 30, 100, 95, 24],
            },
            "risk_utility": None,
        },
        "notes_for_users": {
            "may": ["Develop and test analysis code before running it on the real data in the secure lab."],
            "may_not": [
                "Publish estimates from this file as official statistics.",
                "Try to identify any person in it.",
            ],
        },
        "provenance": {
            "confidata": "0.1.0",
            "python": "3.11.9",
            "dependencies": {"numpy": "2.1.0", "pandas": "2.2.3"},
            "command": "confidata evaluate sd2011_train.csv sd2011_syn.csv --seed 7",
            "seed": 7,
            "created": "2026-03-01T10:00:00+00:00",
            "epsilon": None,
            "delta": None,
        },
    }


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the figure ids, from an HTML text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def ids(self, tag: str) -> list[str]:
        return [a.get("id") for t, a in self.tags if t == tag]


def _marginal_bins(data: dict) -> list[dict]:
    return [b for m in data["plots"]["marginals"] for b in m["bins"]]


def test_internal_report_shows_verdict_first_every_measure_and_every_figure():
    ev = example_evaluation()
    rendered = render_report(ev)
    html = rendered.html
    assert html.index("WARN") < html.index('id="measures"') < html.index('id="plots"')
    assert html.index('id="plots"') < html.index('id="notes"') < html.index('id="provenance"')
    assert "one two-way relationship is weakened" in html and "Testing analysis" in html
    figures = _Tags(html).ids("figure")
    for fig in FIXED_FIGURES + ["fig-marginal-1", "fig-marginal-2", "fig-marginal-3"]:
        assert fig in figures
    assert html.count("<figcaption>") == len(figures)
    for m in ev["measures"]:
        assert f"</span> {m['name']} <small>" in html
    assert "pass if S_pMSE &lt;= 3" in html and "Snoke et al. (2018)" in html
    assert "3 of 4 measures computed" in html and "No target column was given" in html
    missing = html[html.index('id="fig-risk-utility"') :]
    assert missing.startswith('id="fig-risk-utility" class="missing"><p>Not computed')
    # internal hides nothing, and says so
    for label in SMALL_LABELS + EXTREME_LABELS:
        assert label in html
    assert "Internal version" in html and "Internal version" in rendered.markdown
    assert rendered.data["report"]["audience"] == "internal"
    assert rendered.data["measures"][2]["details"]["closest_records"]
    assert "Notes for users of this synthetic file" in rendered.markdown


def test_public_json_has_no_real_count_below_min_count():
    ev = example_evaluation()
    rendered = render_report(ev, audience="public", min_count=MIN_COUNT)
    data = json.loads(rendered.json)
    bins = _marginal_bins(data)
    assert bins and all(b["real"] >= MIN_COUNT for b in bins)
    other = [b for b in bins if b["label"] == "other (small cells)"]
    assert other == [{"label": "other (small cells)", "real": 10, "synthetic": 8, "extreme": False}]
    # totals are kept, so nothing is hidden that subtraction would recover
    for shown, real in zip(data["plots"]["marginals"], ev["plots"]["marginals"], strict=True):
        assert sum(b["real"] for b in shown["bins"]) == sum(b["real"] for b in real["bins"])
    for key, real_key in (("propensity", "real"), ("dcr", "holdout")):
        hist = data["plots"][key]
        assert all(c >= MIN_COUNT for c in hist[real_key])
        assert len(hist["edges"]) == len(hist[real_key]) + 1
        assert sum(hist[real_key]) == sum(ev["plots"][key][real_key])
        assert hist["edges"][0] == ev["plots"][key]["edges"][0]
        assert hist["edges"][-1] == ev["plots"][key]["edges"][-1]
    assert data["report"] == rendered.data["report"]
    assert data["report"]["min_count"] == MIN_COUNT


def test_public_outputs_name_no_small_cell_or_extreme_and_drop_details():
    rendered = render_report(example_evaluation(), audience="public", min_count=MIN_COUNT)
    for text in (rendered.html, rendered.markdown, rendered.json):
        for label in SMALL_LABELS + EXTREME_LABELS:
            assert label not in text
        assert "other (small cells)" in text
        assert "lowest bin" in text and "highest bin" in text
        assert "closest_records" not in text  # per-record details dropped
    assert "Small cells and extremes were suppressed (minimum count 10)" in rendered.html
    assert "Small cells and extremes were suppressed (minimum count 10)" in rendered.markdown
    measures = rendered.data["measures"]
    assert all("details" not in m for m in measures)
    assert measures[3]["error"] == "No target column was given; pass --target."


def test_public_merges_further_bins_when_the_small_ones_sum_below_min_count():
    ev = example_evaluation()
    ev["plots"]["marginals"].append(
        {
            "column": "tiny",
            "kind": "categorical",
            "bins": [
                {"label": "A", "real": 5, "synthetic": 6, "extreme": False},
                {"label": "B", "real": 3, "synthetic": 2, "extreme": False},
            ],
        }
    )
    data = render_report(ev, audience="public", min_count=12).data
    bins = {m["column"]: m["bins"] for m in data["plots"]["marginals"]}
    # 3 + 7 < 12, so the smallest remaining level (WIDOWED, 600) is merged in as well
    assert [b["label"] for b in bins["marital"]] == ["MARRIED", "SINGLE", "other (small cells)"]
    assert bins["marital"][-1]["real"] == 610
    assert "tiny" not in bins and data["report"]["suppression"]["withheld"] == ["tiny"]
    assert all(b["real"] >= 12 for b in _marginal_bins(data))
    html = render_report(ev, audience="public", min_count=12).html
    assert "WIDOWED" not in html and "withheld: tiny" in html


def test_every_string_from_the_evaluation_is_escaped():
    ev = example_evaluation()
    evil = "<script>alert(1)</script>"
    ev["plots"]["marginals"][0]["column"] = evil
    ev["plots"]["marginals"][0]["bins"][0]["label"] = evil
    ev["plots"]["pairs"]["columns"][0] = evil
    ev["plots"]["ci_overlap"][0]["term"] = evil
    ev["measures"][0]["name"] = evil
    ev["measures"][0]["details"]["model"] = evil
    ev["title"] = evil
    ev["notes_for_users"]["may"].append('<img src=x onerror="alert(2)">')
    ev["provenance"]["dependencies"][evil] = evil
    for audience in ("internal", "public"):
        rendered = render_report(ev, audience=audience)
        tags = _Tags(rendered.html)
        assert not [t for t, _ in tags.tags if t in ("script", "img")]
        assert "<script" not in rendered.html and "<img" not in rendered.html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
        assert "<script" not in rendered.markdown and "<img" not in rendered.markdown
        assert "&lt;script>alert(1)&lt;/script>" in rendered.markdown
        assert "pass if S_pMSE <= 3" in rendered.markdown


def test_html_is_self_contained_and_fetches_nothing():
    html = render_report(example_evaluation()).html
    tags = _Tags(html)
    assert not [t for t, _ in tags.tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    for tag, attrs in tags.tags:
        for name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
            value = attrs.get(name) or ""
            assert not re.match(r"\s*(https?:|//|file:|ftp:)", value, re.I), (tag, name, value)
    style = html[html.index("<style>") : html.index("</style>")]
    assert "url(" not in style and "@import" not in style
    # the only URL is the citation's, in text
    assert html.count("https://") == 1 and "https://doi.org/10.1111/rssa.12358" in html
    assert "http://" not in html
    csp = [
        a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp and "default-src 'none'" in csp[0]


def test_missing_plots_and_measures_render_as_not_computed():
    ev = {
        "title": "bare",
        "verdict": "fail",
        "verdict_reason": "Nothing could be computed.",
        "plots": {
            "marginals": None,
            "pairs": None,
            "propensity": None,
            "ci_overlap": None,
            "dcr": None,
            "risk_utility": None,
        },
    }
    rendered = render_report(ev, audience="public")
    figures = _Tags(rendered.html).ids("figure")
    assert set(FIXED_FIGURES + ["fig-marginals"]) <= set(figures)
    assert rendered.html.count("Not computed") == len(FIXED_FIGURES) + 1
    assert "0 of 0 measures computed" in rendered.html and "FAIL" in rendered.html
    assert render_report({}).html.startswith("<!DOCTYPE html>")


def test_caller_data_is_not_changed_and_numpy_nan_are_made_json():
    np = pytest.importorskip("numpy")
    ev = example_evaluation()
    ev["measures"][0]["value"] = np.float64("nan")
    ev["measures"][0]["n"] = np.int64(8000)
    ev["measures"][0]["ci"] = (0.1, float("inf"))
    before = copy.deepcopy(ev)
    rendered = render_report(ev, audience="public")
    assert repr(ev) == repr(before)
    assert rendered.data["measures"][0]["value"] is None and rendered.data["measures"][0]["n"] == 8000
    assert rendered.data["measures"][0]["ci"] == [0.1, None]
    json.loads(rendered.json)


def test_bad_options_are_refused_with_clear_messages():
    with pytest.raises(ReportError, match="'audience' option must be one of 'internal', 'public'"):
        render_report(example_evaluation(), audience="press")
    with pytest.raises(ValueError, match="min_count"):
        render_report(example_evaluation(), audience="public", min_count=0)
    with pytest.raises(ConfidataError, match="must be a list"):
        render_report({"measures": {"a": 1}})
    with pytest.raises(ReportError, match="as a dict"):
        render_report([1, 2])


def test_write_report_writes_three_files_and_refuses_to_overwrite(tmp_path):
    ev = example_evaluation()
    files = write_report(ev, tmp_path / "sd2011.html", audience="public")
    assert (files.html.name, files.json.name, files.markdown.name) == (
        "sd2011.html",
        "sd2011.json",
        "sd2011.md",
    )
    rendered = render_report(ev, audience="public")
    assert files.html.read_text(encoding="utf-8") == rendered.html
    assert files.markdown.read_text(encoding="utf-8") == rendered.markdown
    assert json.loads(files.json.read_text(encoding="utf-8")) == rendered.data
    with pytest.raises(
        OutputExistsError, match=r"sd2011\.html', '.*sd2011\.json', '.*sd2011\.md' already exist"
    ):
        write_report(ev, tmp_path / "sd2011.html")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left
    write_report(ev, tmp_path / "sd2011.html", overwrite=True)
    assert "Internal version" in files.html.read_text(encoding="utf-8")
    # one existing sibling blocks the whole set: nothing is half-written
    (tmp_path / "other.md").write_text("mine", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="other.md"):
        write_report(ev, tmp_path / "other.html")
    assert not (tmp_path / "other.html").exists() and not (tmp_path / "other.json").exists()
    assert (tmp_path / "other.md").read_text(encoding="utf-8") == "mine"
    with pytest.raises(ReportError, match=r"must end in \.html"):
        write_report(ev, tmp_path / "x.json")


def test_report_imports_nothing_above_table():
    allowed = ("confidata.report", "confidata.table", "confidata.errors")
    folder = Path(__file__).resolve().parents[1] / "src" / "confidata" / "report"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                if name.startswith("confidata"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"


# ---- a real browser -------------------------------------------------------------------------

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no chromium binary on PATH; install it (Debian: apt-get install chromium) to run the "
    "headless-browser checks (.ci/run installs it)",
)


def _load_in_browser(page: Path, profile: Path) -> tuple[str, list[str]]:
    """The DOM after loading, and every console message, from a headless Chromium kept offline."""
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the page has no script, so any console message at all is a fault (errors, CSP refusals)
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    return proc.stdout, console


@needs_chromium
@pytest.mark.parametrize("audience", ["internal", "public"])
def test_a_real_browser_loads_the_page_with_every_figure_and_no_console_error(tmp_path, audience):
    files = write_report(example_evaluation(), tmp_path / "report.html", audience=audience)
    dom, console = _load_in_browser(files.html, tmp_path / "profile")
    assert console == []
    figures = _Tags(dom).ids("figure")
    expected = _Tags(files.html.read_text(encoding="utf-8")).ids("figure")
    assert figures == expected and len(figures) == len(FIXED_FIGURES) + 3
    assert dom.count("<svg") == len(figures) - 1  # risk_utility was not computed
    assert "WARN" in dom and "Notes for users of this synthetic file" in dom


@needs_chromium
def test_the_browser_console_check_catches_a_script_error(tmp_path):
    html = render_report(example_evaluation()).html
    injected = "<script>undefinedFunction()</script></body>"
    # without the page's CSP the script runs and fails; with it, the browser refuses and says so
    no_csp = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    (tmp_path / "broken.html").write_text(no_csp.replace("</body>", injected), encoding="utf-8")
    (tmp_path / "blocked.html").write_text(html.replace("</body>", injected), encoding="utf-8")
    _, console = _load_in_browser(tmp_path / "broken.html", tmp_path / "p1")
    assert any("undefinedFunction is not defined" in line for line in console), console
    _, console = _load_in_browser(tmp_path / "blocked.html", tmp_path / "p2")
    assert any("Content Security Policy" in line for line in console), console


def test_public_keeps_only_the_contract_keys_internal_keeps_extras():
    ev = example_evaluation()
    secret = "SENTINEL7731"
    ev["debug"] = {"rows": [secret]}
    ev["use_case"]["internal_note"] = secret
    ev["measures"][0]["tables"] = {"records": [{"id": secret}]}
    ev["plots"]["pairs"]["cells"] = [secret]
    ev["plots"]["ci_overlap"][0]["data"] = secret
    ev["plots"]["dcr"]["records"] = [secret]
    ev["provenance"]["real_path"] = secret
    public = render_report(ev, audience="public")
    for text in (public.html, public.markdown, public.json):
        assert secret not in text
    assert secret in render_report(ev).json
