"""Reports: an evaluation rendered as one self-contained HTML page, with JSON and Markdown beside it.

The renderer takes the plain evaluation dict that ``confidata.evaluate`` builds and imports
nothing above ``table``. ``audience="public"`` gives a variant that does not itself disclose:
no real count below ``min_count``, no real extreme value, no per-record details.
"""

from confidata.report._data import AUDIENCES, ReportError
from confidata.report._html import CSP
from confidata.report.render import Rendered, ReportFiles, render_report, write_report

__all__ = ["AUDIENCES", "CSP", "Rendered", "ReportError", "ReportFiles", "render_report", "write_report"]
