"""What the file analyst answers from a file's analysis, as the analysis worker stores
it (infra/file_analysis.py): CSV {rows, columns: [{name, type, count, nulls, min, max,
mean, distinct}]}, JSON {type, keys or length, depth, paths}, text and Markdown {lines,
words, characters}, PDF {pages, text_characters}, image {format, width, height}; each
with its `kind`."""

import re
from typing import Any

from arqium.domain.shared import Invalid

SUMMARY_WORDS = ("", "summary", "summarize", "summarise", "overview", "describe",
                 "analyze", "analyse")


def answer(analysis: dict, question: str) -> tuple[str, Any]:
    """The answer's text and its data: a summary, one CSV column's figures, or one
    figure of the analysis; Invalid naming what may be asked otherwise."""
    asked = question.strip()
    if is_summary(asked):
        return summary(analysis), analysis
    column = column_named(analysis, asked)
    if column is not None:
        return column_text(column), column
    figure = figure_named(analysis, asked)
    if figure is not None:
        return f"{figure}: {analysis[figure]}", {figure: analysis[figure]}
    raise Invalid(f"the file analyst answers 'summary' or one of: "
                  f"{', '.join(askable(analysis))}", field="input")


def is_summary(asked: str) -> bool:
    words = asked.lower().rstrip("?.!").split()
    return not words or words[0] in SUMMARY_WORDS


def summary(analysis: dict) -> str:
    if "columns" in analysis:
        columns = ", ".join(f"{c['name']} ({c.get('type') or 'unknown'})"
                            for c in analysis["columns"])
        return (f"A table of {analysis.get('rows', 0)} rows and "
                f"{len(analysis['columns'])} columns: {columns}")
    if analysis.get("kind") == "json" or "shape" in analysis:
        return json_summary(analysis)
    if "pages" in analysis:
        characters = analysis.get("text_characters", analysis.get("text_length", 0))
        return f"A PDF of {analysis['pages']} pages, {characters} characters of text"
    if "width" in analysis:
        return (f"A {analysis.get('format', 'image')} image of {analysis['width']}×"
                f"{analysis.get('height')} pixels")
    if "lines" in analysis:
        return (f"A text of {analysis['lines']} lines, {analysis.get('words', 0)} words, "
                f"{analysis.get('characters', 0)} characters")
    return "An analysis with " + ", ".join(f"{k}: {v}" for k, v in analysis.items())


def json_summary(analysis: dict) -> str:
    if "shape" in analysis:
        return f"A JSON document shaped {analysis['shape']}"
    text = f"A JSON {analysis.get('type', 'document')}"
    if analysis.get("keys"):
        text += " with keys " + ", ".join(map(str, analysis["keys"]))
    elif "length" in analysis:
        text += f" of {analysis['length']} items"
    return text + (f", {analysis['depth']} levels deep" if "depth" in analysis else "")


def column_named(analysis: dict, asked: str) -> dict | None:
    """The CSV column named exactly (any case), else the longest one named as a word in
    the question."""
    columns = [c for c in analysis.get("columns") or [] if isinstance(c, dict)]
    for column in columns:
        if str(column.get("name", "")).lower() == asked.lower():
            return column
    mentioned = [c for c in columns if c.get("name") and re.search(
        rf"(?<!\w){re.escape(str(c['name']).lower())}(?!\w)", asked.lower())]
    return max(mentioned, key=lambda c: len(str(c["name"])), default=None)


def column_text(column: dict) -> str:
    figures = ", ".join(f"{name} {column[name]}" for name in (
        "count", "nulls", "min", "max", "mean", "distinct") if name in column)
    return f"{column['name']} ({column.get('type', 'unknown')}): {figures}"


def figure_named(analysis: dict, asked: str) -> str | None:
    key = asked.lower().rstrip("?.!").replace(" ", "_")
    return key if key in analysis and key != "columns" else None


def askable(analysis: dict) -> list[str]:
    names = [str(c.get("name")) for c in analysis.get("columns") or []
             if isinstance(c, dict)]
    return names or [key for key in analysis if key != "columns"]
