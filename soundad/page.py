"""Page settings for the chapter notebooks (re-exported as :func:`soundad.book.setup_page`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["setup_page", "PAGE_FIGURE_WIDTH", "NOISY_WARNINGS"]

#: Figure width that fits the book's text column [inches at 100 dpi].
PAGE_FIGURE_WIDTH = 7.0

#: Third-party warnings that say nothing to a reader of the book: (category, module regex).
NOISY_WARNINGS = (
    (FutureWarning, ""),
    (DeprecationWarning, ""),
    (UserWarning, r"torch(vision)?\."),
    (UserWarning, r"matplotlib\."),
)


def _short_warning(message, category, filename, lineno, line=None) -> str:
    # No file path and no "...Warning:" prefix on the page: one line saying who noticed what.
    origin = Path(str(filename)).parent.name
    if not origin or origin.startswith("ipykernel"):  # raised for a notebook cell: no package to name
        return f"note: {message}\n"
    return f"note from {origin}: {message}\n"


def setup_page() -> None:
    """Prepare a chapter notebook for the page: call once in its first code cell.

    * pandas tables fit the page and show text columns (verdicts, claims) in full,
      numbers with 3 significant digits after the point;
    * known third-party noise (Future/Deprecation warnings, torch and matplotlib
      UserWarnings) is silenced, and any other warning is printed as one line
      ``note from <package>: <message>``, without a file path;
    * matplotlib figures are 7 inches wide at 100 dpi with constrained layout, so
      they fit the text column; an axis multiplier is written ``×10⁻⁸``. For
      image plots use :func:`soundad.plots.show_image`, which puts the scale
      into the colour bar's label.

    Returns None and prints nothing.
    """
    import warnings

    import matplotlib as mpl
    import pandas as pd

    pd.set_option("display.max_columns", 12)
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.width", 88)
    pd.set_option("display.precision", 3)
    pd.set_option("display.max_rows", 30)
    for category, module in NOISY_WARNINGS:
        warnings.filterwarnings("ignore", category=category, module=module)
    warnings.formatwarning = _short_warning
    mpl.rcParams.update({
        "figure.figsize": (PAGE_FIGURE_WIDTH, 3.5),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "figure.constrained_layout.use": True,
        "axes.titlesize": "medium",
        # a tiny or huge axis scale reads "×10⁻⁸" next to the axis, not "1e-8"
        "axes.formatter.use_mathtext": True,
    })
    return None
