"""Scoring of question sets: parts, alternatives, referrals, and the baseline guard."""

import json

from bot.evaluate import compare, evaluate, read_cases, read_sets, run_sets


def _answer(kind="answer", cites=(), parts=(), alternatives=(), referral=None, **extra):
    return {"kind": kind, "intent": None, "entry_id": "e", "score": 0.9,
            "citations": [{"doc": d, "article": a, "clause": None} for d, a in cites],
            "alternatives": [{"citations": [{"doc": d, "article": a}]} for d, a in alternatives],
            "parts": list(parts), "referral": referral, **extra}


def _write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_a_part_is_right_when_any_part_answer_cites_it(tmp_path):
    path = _write(tmp_path, "s.jsonl", [{"id": "a", "q": "hai câu", "parts": [
        {"ask": "1", "expect": [{"doc": "17/2023/QH15", "article": 30}]},
        {"ask": "2", "expect": [{"doc": "17/2023/QH15", "article": 74}]}]}])
    first = _answer(cites=[("17/2023/QH15", 30)])
    second = _answer(cites=[("17/2023/QH15", 74)])
    report = evaluate(read_cases(path), lambda q, p: {**first, "parts": [first, second]})
    assert report.results[0].top1 == [True, True]
    report = evaluate(read_cases(path), lambda q, p: first)
    assert report.results[0].top1 == [True, False]
    assert report.summary()["all_parts_top1"] == 0.0


def test_alternatives_count_only_for_top3_and_doc_numbers_fold(tmp_path):
    path = _write(tmp_path, "s.jsonl", [{"q": "x", "expect": [{"doc": "113/2024/NĐ-CP", "article": None}]}])
    report = evaluate(read_cases(path), lambda q, p: _answer(cites=[("1/2020/TT", 1)],
                                                             alternatives=[("113/2024/nd-cp", 5)]))
    assert report.results[0].top1 == [False] and report.results[0].top3 == [True]


def test_out_of_scope_needs_unknown_and_the_right_office(tmp_path):
    path = _write(tmp_path, "s.jsonl", [{"q": "sổ đỏ", "expect": [{"kind": "unknown"}], "referral": "land"}])
    right = evaluate(read_cases(path), lambda q, p: _answer(kind="unknown", referral="land")).summary()
    wrong = evaluate(read_cases(path), lambda q, p: _answer(kind="unknown", referral="tax", ticket=True)).summary()
    assert right["out_of_scope_unknown"] == 1.0 and right["referral_right"] == 1.0
    assert wrong["referral_right"] == 0.0 and wrong["tickets_for_out_of_scope"] == 1


def test_a_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "x"}\n', encoding="utf-8")
    try:
        read_cases(path)
    except ValueError as exc:
        assert "bad.jsonl:1" in str(exc)
    else:
        raise AssertionError("a line without expect must be refused")


def test_baseline_guard_fails_on_a_drop_beyond_tolerance(tmp_path):
    _write(tmp_path, "a.jsonl", [{"q": "x", "expect": [{"doc": "D", "article": 1}]}])
    (tmp_path / "sets.toml").write_text('tolerance = 0.05\nguarded = ["top1", "repealed_first"]\n'
                                        '[sets.a]\nfiles = ["a.jsonl"]\nrole = "reported"\n', encoding="utf-8")
    sets = read_sets(tmp_path / "sets.toml")
    miss = run_sets(sets, lambda q, p: _answer(cites=[("E", 1)]))
    hit = run_sets(sets, lambda q, p: _answer(cites=[("D", 1)]))
    assert compare(hit, hit, sets) == []
    assert compare(miss, hit, sets) == ["a: top1 0.0 (baseline 1.0, tolerance 0.05)"]
    worse = {"a": {**hit["a"], "repealed_first": 1}}
    assert compare(worse, hit, sets) and compare(hit, worse, sets) == []
