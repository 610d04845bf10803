"""The file analysers on edge input: pure functions of a file's bytes, each failing
with a short reason on what it cannot read; and the bounded child process running them."""

import json
import threading

import pytest

from arqium.infra import file_analysis
from arqium.infra.analysis_sandbox import Interrupted, analyse_bounded
from arqium.infra.file_analysis import Unreadable, analyse
from tests.documents import image, pdf


@pytest.fixture
def written(tmp_path):
    def write(content: bytes | str, name: str = "file") -> object:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path
    return write


def column(figures: dict, name: str) -> dict:
    return next(c for c in figures["columns"] if c["name"] == name)


def test_a_csv_column_gets_the_narrowest_type_and_its_statistics(written):
    figures = analyse(written("n,x,ok,day,city\n1,1.5,true,2024-01-02,Lyon\n"
                              "3,2.5,no,2023-12-31T10:00:00Z,Nantes\n,,,,\n"), "text/csv")
    assert figures["rows"] == 3 and figures["ragged_rows"] == 0
    assert column(figures, "n") == {
        "name": "n", "type": "integer", "count": 2, "nulls": 1, "min": 1, "max": 3,
        "mean": 2.0, "distinct": 2, "distinct_capped": False}
    assert [column(figures, name)["type"] for name in ("x", "ok", "day", "city")] == [
        "number", "boolean", "date", "text"]
    assert (column(figures, "x")["min"], column(figures, "x")["mean"]) == (1.5, 2.0)
    assert (column(figures, "ok")["min"], column(figures, "ok")["mean"]) == (False, 0.5)
    assert column(figures, "day")["max"] == "2024-01-02"
    assert (column(figures, "city")["min"], column(figures, "city")["max"]) == (
        "Lyon", "Nantes")


def test_an_empty_csv_has_no_rows_and_no_columns(written):
    figures = analyse(written(""), "text/csv")
    assert (figures["rows"], figures["columns"]) == (0, [])


def test_a_csv_of_a_header_only_has_columns_without_a_type(written):
    figures = analyse(written("a;b;c\n"), "text/csv")
    assert figures["rows"] == 0 and figures["delimiter"] == ";"
    assert [(c["name"], c["type"], c["count"]) for c in figures["columns"]] == [
        ("a", None, 0), ("b", None, 0), ("c", None, 0)]


def test_ragged_csv_rows_count_missing_cells_as_nulls_and_drop_extra_ones(written):
    figures = analyse(written("a,b\n1\n2,3,4\n5,6\n"), "text/csv")
    assert (figures["rows"], figures["ragged_rows"]) == (3, 2)
    assert (column(figures, "b")["count"], column(figures, "b")["nulls"]) == (2, 1)


def test_huge_integers_stay_exact_and_numbers_beyond_floats_keep_their_text(written):
    big = 10 ** 30
    figures = analyse(written(f"i,x\n{big},1e400\n{big + 2},2\n"), "text/csv")
    assert (column(figures, "i")["min"], column(figures, "i")["max"]) == (big, big + 2)
    assert column(figures, "i")["mean"] == pytest.approx(float(big + 1))
    assert (column(figures, "x")["type"], column(figures, "x")["max"]) == ("number",
                                                                           "1e400")


def test_distinct_values_are_counted_up_to_a_cap_that_the_result_names(written,
                                                                       monkeypatch):
    monkeypatch.setattr(file_analysis, "DISTINCT_CAP", 5)
    rows = "\n".join(str(n) for n in range(8))
    figures = analyse(written(f"n\n{rows}\n"), "text/csv")
    assert (column(figures, "n")["distinct"], column(figures, "n")["distinct_capped"]) == (
        5, True)


def test_a_csv_line_longer_than_a_piece_is_unreadable(written, monkeypatch):
    monkeypatch.setattr(file_analysis, "PIECE_BYTES", 64)
    with pytest.raises(Unreadable, match="longer than"):
        analyse(written("a\n" + "x" * 200 + "\n"), "text/csv")


def test_text_counts_lines_words_characters_and_undecodable_bytes(written):
    figures = analyse(written(b"caf\xc3\xa9 au lait\nbad \xff\xfe byte"), "text/plain")
    assert figures == {"kind": "text", "lines": 2, "words": 6, "characters": 24,
                       "invalid_bytes": 2}


def test_a_word_split_across_pieces_counts_once(written, monkeypatch):
    monkeypatch.setattr(file_analysis, "PIECE_BYTES", 4)
    figures = analyse(written("abcdefgh ij\n"), "text/plain")
    assert (figures["words"], figures["lines"]) == (2, 1)


def test_markdown_counts_headings_outside_code_blocks(written):
    figures = analyse(written("# Title\ntext\n```\n# not a heading\n```\n## Part\n#tag\n"),
                      "text/markdown")
    assert (figures["headings"], figures["lines"]) == (2, 7)


def test_json_shape_names_keys_types_and_array_lengths(written):
    document = {"rows": [1, 2, 3], "name": "x", "items": [{"a": 1}, {"a": "b", "c": None}]}
    figures = analyse(written(json.dumps(document)), "application/json")
    assert (figures["type"], figures["keys"], figures["depth"]) == (
        "object", ["rows", "name", "items"], 4)
    assert figures["paths"]["$.rows"] == {"types": ["array"], "count": 1,
                                          "lengths": {"min": 3, "max": 3}}
    assert figures["paths"]["$.items[].a"] == {"types": ["integer", "string"], "count": 2}


def test_long_names_are_cut_so_a_result_stays_small(written):
    long = "k" * 5000
    figures = analyse(written(json.dumps({long: {long: 1}})), "application/json")
    assert figures["keys"] == [long[:file_analysis.MAX_SHOWN_CHARS]]
    assert max(len(path) for path in figures["paths"]) <= file_analysis.MAX_PATH_CHARS
    columns = analyse(written(f"{long},b\n1,2\n"), "text/csv")["columns"]
    assert len(columns[0]["name"]) == file_analysis.MAX_SHOWN_CHARS


def test_deep_json_is_described_to_a_bounded_depth(written):
    deep = "[" * 200 + "]" * 200
    figures = analyse(written(deep), "application/json")
    assert (figures["depth"], figures["depth_capped"]) == (200, True)
    assert len(figures["paths"]) == file_analysis.MAX_DEPTH


def test_json_deeper_than_python_reads_is_unreadable(written):
    with pytest.raises(Unreadable, match="nested too deeply"):
        analyse(written("[" * 100_000 + "]" * 100_000), "application/json")


def test_invalid_json_is_unreadable_with_the_parser_s_reason(written):
    with pytest.raises(Unreadable, match="not valid JSON: Expecting"):
        analyse(written('{"a": '), "application/json")


def test_a_pdf_has_its_pages_and_text_length(written):
    figures = analyse(written(pdf("Hello there", "", "Bye")), "application/pdf")
    assert figures == {"kind": "pdf", "pages": 3, "text_characters": 14,
                       "pages_with_text": 2}


def test_a_corrupt_pdf_is_unreadable(written):
    with pytest.raises(Unreadable, match="not a readable PDF"):
        analyse(written(b"%PDF-1.4\nnothing else"), "application/pdf")


@pytest.mark.parametrize("kind, content_type", [("PNG", "image/png"),
                                                ("JPEG", "image/jpeg"),
                                                ("GIF", "image/gif"),
                                                ("WEBP", "image/webp")])
def test_an_image_has_its_format_and_size(written, kind, content_type):
    figures = analyse(written(image(31, 17, kind)), content_type)
    assert (figures["format"], figures["width"], figures["height"]) == (kind, 31, 17)


def test_an_undecodable_image_is_unreadable(written):
    with pytest.raises(Unreadable, match="not a readable image"):
        analyse(written(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10), "image/png")


def test_the_bounded_analysis_answers_the_figures_of_the_child(written):
    figures = analyse_bounded(written("a,b\n1,2\n"), "text/csv", 30, 1024,
                              threading.Event())
    assert (figures["kind"], figures["rows"]) == ("csv", 1)


def test_an_analysis_needing_more_memory_than_allowed_fails_with_that_reason(written):
    many = json.dumps(["x" * 100] * 2_000_000)  # some 900 MB once parsed
    with pytest.raises(Unreadable, match="more than 200 MB of memory"):
        analyse_bounded(written(many), "application/json", 60, 200, threading.Event())


def test_an_analysis_needing_more_processor_time_than_allowed_fails_with_that_reason(
        written):
    rows = "\n".join(f"{n},{n * 1.5},2024-01-0{1 + n % 9}" for n in range(1_500_000))
    with pytest.raises(Unreadable, match="more than 1 s of processor time"):
        analyse_bounded(written(f"a,b,c\n{rows}\n"), "text/csv", 1, 1024,
                        threading.Event())


def test_an_analysis_waiting_past_its_wall_clock_bound_fails_with_that_reason(written):
    with pytest.raises(Unreadable, match="took longer than 0 s"):
        analyse_bounded(written("a,b\n1,2\n"), "text/csv", 0, 1024, threading.Event())


def test_a_stopping_worker_abandons_the_analysis(written):
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(Interrupted):
        analyse_bounded(written("a,b\n1,2\n"), "text/csv", 60, 1024, stopping)
