"""bench-calibrate: a model's default thresholds come from its bench figures and travel in its card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from imgsim_desktop.core.model_card import DEFAULT_THRESHOLDS, model_thresholds
from imgsim_desktop.core.model import load_model
from imgsim_desktop.evaluation.calibrate import CalibrationError, choose_thresholds, write_thresholds

ROWS = [  # threshold, precision, recall, f1
    [0.600, 0.80, 1.00, 0.0], [0.650, 0.91, 0.98, 0.0], [0.700, 0.95, 0.95, 0.0], [0.720, 0.99, 0.90, 0.0],
    [0.750, 0.995, 0.85, 0.0], [0.780, 0.999, 0.80, 0.0], [0.800, 1.0, 0.70, 0.0],
]


def _results(rows=ROWS, kind="model", model_id="m-1-abc"):
    grid = {"columns": ["threshold", "precision", "recall", "f1"], "rows": rows}
    return {"counts": {"groups": 3}, "methods": {"imgsim": {"kind": kind, "model_id": model_id,
                                                             "neardup": {"pr_grid": grid}}}}


def _copy_model(card, dest):
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(card.with_suffix(".safetensors"), dest / card.with_suffix(".safetensors").name)
    return Path(shutil.copy(card, dest / card.name))


def test_choice_follows_the_rule():
    c = choose_thresholds(_results())
    assert c["duplicates"] == 0.75 and c["similar"] == 0.65          # 0.72 + 0.03; 0.65 (precision 0.91)
    assert c["evidence"]["duplicates_precision_recall"] == [0.995, 0.85]
    assert choose_thresholds(_results(), margin=0.0)["duplicates"] == 0.72
    # rounding up must not land where precision falls short: 0.99 at 0.72 only, dips at 0.73..0.74
    dip = [r[:] for r in ROWS] + [[0.730, 0.985, 0.88, 0.0], [0.740, 0.985, 0.87, 0.0]]
    dip.sort()
    assert choose_thresholds(_results(dip), margin=0.01)["duplicates"] == 0.75


def test_unusable_results_are_refused():
    with pytest.raises(CalibrationError, match="not a model"):
        choose_thresholds(_results(kind="hash"))
    with pytest.raises(CalibrationError, match="no near-duplicate"):
        choose_thresholds({"methods": {}})
    weak = [[t, 0.5, 1.0, 0.0] for t in (0.5, 0.6, 0.7)]
    with pytest.raises(CalibrationError, match="reaches precision"):
        choose_thresholds(_results(weak))


def test_card_thresholds_round_trip_and_fallback(tiny_model, tmp_path):
    card_path = _copy_model(tiny_model, tmp_path / "m")
    model_id = load_model(card_path, "cpu").model_id
    with pytest.raises(CalibrationError, match="results are for"):
        write_thresholds(card_path, choose_thresholds(_results(model_id="someone-else")))
    write_thresholds(card_path, choose_thresholds(_results(model_id=model_id)))
    m = load_model(card_path, "cpu")
    assert m.model_id == model_id                                     # weights untouched
    assert m.thresholds == {"duplicates": 0.75, "similar": 0.65}
    assert json.loads(card_path.read_text())["thresholds_evidence"]["model_id"] == model_id
    for bad in (None, {}, {"duplicates": 0.8}, {"duplicates": "x", "similar": 0.5},
                {"duplicates": 0.5, "similar": 0.9}, {"duplicates": 3, "similar": 0.5}):
        assert model_thresholds({"thresholds": bad}) == DEFAULT_THRESHOLDS


def test_library_uses_its_models_thresholds(tiny_model, tmp_path, make_photo):
    from imgsim_desktop.core.library import Library

    card = json.loads(tiny_model.read_text())
    card["thresholds"] = {"duplicates": 0.999, "similar": -1.0}
    card_path = _copy_model(tiny_model, tmp_path / "m")
    card_path.write_text(json.dumps(card))
    photos = tmp_path / "photos"
    for i in range(4):
        make_photo(photos / f"p{i}.jpg", seed=i)
    lib = Library(tmp_path / "lib", model_path=card_path, workers=1)
    try:
        lib.add_folder(photos)
        lib.scan()
        assert lib.status()["thresholds"] == {"duplicates": 0.999, "similar": -1.0}

        def sig(groups):
            return sorted(sorted(m.path for m in g.members) for g in groups)

        everything = sig(lib.duplicates("similar", threshold=-1.0))
        assert everything and everything != sig(lib.duplicates("similar", threshold=0.999))  # the cut matters
        assert sig(lib.duplicates("similar")) == everything
        assert sig(lib.duplicates("duplicates")) == sig(lib.duplicates("duplicates", threshold=0.999)) == []
    finally:
        lib.close()


def test_cli_bench_calibrate(tiny_model, tmp_path, capsys):
    from imgsim_desktop.cli import main

    card_path = _copy_model(tiny_model, tmp_path / "m")
    res = tmp_path / "r.json"
    res.write_text(json.dumps(_results(model_id=load_model(card_path, "cpu").model_id)))
    assert main(["bench-calibrate", str(res), "--card", str(card_path), "--dry-run"]) == 0
    assert "duplicates 0.75" in capsys.readouterr().out
    assert "thresholds" not in json.loads(card_path.read_text())
    assert main(["bench-calibrate", str(res), "--card", str(card_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["similar"] == 0.65
    assert json.loads(card_path.read_text())["thresholds"] == {"duplicates": 0.75, "similar": 0.65}
    assert main(["bench-calibrate", str(tmp_path / "missing.json"), "--card", str(card_path)]) == 2


def test_calibrate_records_the_benchmark_figures_in_the_card(tiny_model, tmp_path, capsys):
    from imgsim_desktop.cli import main

    card_path = _copy_model(tiny_model, tmp_path / "m")
    r = _results(model_id=load_model(card_path, "cpu").model_id)
    nd = r["methods"]["imgsim"]["neardup"]
    nd.update({"map": 0.99, "recall_at_p99": 0.95, "recall_at_10_by_edit": {"crop": 1.0}})
    r["methods"]["imgsim"]["lookalike"] = {"precision_at_10": 0.41, "map": 0.2}
    res = tmp_path / "r.json"
    res.write_text(json.dumps(r))
    assert main(["bench-calibrate", str(res), "--card", str(card_path)]) == 0
    b = json.loads(card_path.read_text())["benchmark"]
    assert b["neardup"]["map"] == 0.99 and b["neardup"]["recall_at_p99"] == 0.95
    assert b["lookalike_precision_at_10"] == 0.41 and b["neardup_recall_at_10_by_edit"] == {"crop": 1.0}
    assert b["precision_recall_at_thresholds"]["duplicates"] == [0.995, 0.85]
