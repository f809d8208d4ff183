"""`bcr data build --format verl`: the Parquet files, read with pyarrow and
checked against the schema verl's RLHFDataset and reward managers read, then
scored end to end through bcr.verl.compute_score."""

from __future__ import annotations

import json
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bcr.trl
import bcr.verl
from conftest import bcr_response

MESSAGE = pa.struct([pa.field("role", pa.string(), False), pa.field("content", pa.string(), False)])
VERL_SCHEMA = pa.schema(
    [
        pa.field("data_source", pa.string(), False),
        pa.field("prompt", pa.list_(pa.field("item", MESSAGE, False)), False),
        pa.field("ability", pa.string(), False),
        pa.field(
            "reward_model",
            pa.struct([pa.field("style", pa.string(), False), pa.field("ground_truth", pa.string(), False)]),
            False,
        ),
        pa.field(
            "extra_info",
            pa.struct(
                [
                    pa.field("index", pa.int64(), False),
                    pa.field("split", pa.string(), False),
                    pa.field("pack_id", pa.string(), False),
                    pa.field("n", pa.int64(), False),
                    pa.field("problem_ids", pa.list_(pa.field("item", pa.string(), False)), False),
                    pa.field("difficulties", pa.list_(pa.field("item", pa.float64(), True)), False),
                    pa.field("mean_difficulty", pa.float64(), True),
                ]
            ),
            False,
        ),
    ]
)


@pytest.fixture(scope="module")
def deepmath(tmp_path_factory):
    """A DeepMath-103K-style Parquet file (question, final_answer, difficulty)."""
    path = tmp_path_factory.mktemp("data") / "deepmath.parquet"
    n = 12
    table = pa.table(
        {
            "question": [f"Compute {i} + {i}. Use $\\frac{{{i}}}{{1}}$." for i in range(n)],
            "final_answer": [str(2 * i) for i in range(n)],
            "difficulty": [float(1 + i % 6) for i in range(n)],
            "topic": ["Mathematics -> Algebra"] * n,
        }
    )
    pq.write_table(table, path)
    return path


def build(bcr_bin, *args):
    return subprocess.run([str(bcr_bin), "data", "build", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def built(bcr_bin, deepmath, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    train, val = out / "train.parquet", out / "val.parquet"
    proc = build(
        bcr_bin, "--format", "verl", "--input", deepmath, "--n", 3, "--strategy", "stratified",
        "--output", train, "--val-benchmarks", "math500,aime24", "--val-output", val, "--val-n", 1,
    )
    assert proc.returncode == 0, proc.stderr
    return pq.read_table(train), pq.read_table(val)


def test_train_file_has_verls_schema_and_packs_of_n(built):
    train, _ = built
    assert train.schema.remove_metadata() == VERL_SCHEMA
    rows = train.to_pylist()
    assert len(rows) == 4
    seen = []
    for i, row in enumerate(rows):
        assert row["data_source"] == "bcr" and row["ability"] == "math"
        assert [m["role"] for m in row["prompt"]] == ["user"]
        text = row["prompt"][0]["content"]
        assert "### Problem 3" in text and "Answer 1: \\boxed{...}" in text
        golds = json.loads(row["reward_model"]["ground_truth"])
        assert row["reward_model"]["style"] == "rule"
        info = row["extra_info"]
        assert info["index"] == i and info["split"] == "train" and info["n"] == 3 == len(golds)
        assert len(info["problem_ids"]) == 3 and len(info["difficulties"]) == 3
        assert info["mean_difficulty"] == pytest.approx(sum(info["difficulties"]) / 3)
        seen += info["problem_ids"]
    assert len(set(seen)) == 12, "stratified packing uses every problem once"


def test_validation_file_holds_every_benchmark_problem_once(built):
    _, val = built
    assert val.schema.remove_metadata() == VERL_SCHEMA
    rows = val.to_pylist()
    sources = [r["data_source"] for r in rows]
    assert sources.count("math500") == 500 and sources.count("aime24") == 30
    assert [r["extra_info"]["index"] for r in rows] == list(range(530))
    assert {r["extra_info"]["split"] for r in rows} == {"test"}
    first = rows[0]
    assert first["extra_info"]["n"] == 1
    assert "Please reason step by step" in first["prompt"][0]["content"]


def test_rows_score_end_to_end_through_compute_score(built):
    train, val = built
    for row in train.to_pylist() + val.to_pylist()[:20]:
        golds = json.loads(row["reward_model"]["ground_truth"])
        kwargs = dict(
            data_source=row["data_source"],
            ground_truth=row["reward_model"]["ground_truth"],
            extra_info=row["extra_info"],
        )
        right = bcr.verl.compute_score(solution_str=bcr_response(golds), **kwargs)
        assert right["acc"] == 1.0, golds
        wrong = bcr.verl.compute_score(solution_str=bcr_response(["nope"] * len(golds)), **kwargs)
        assert wrong["acc"] == 0.0


TRL_SCHEMA = pa.schema(
    [
        pa.field("prompt", pa.list_(pa.field("item", MESSAGE, False)), False),
        pa.field("ground_truth", pa.string(), False),
        pa.field("data_source", pa.string(), False),
        pa.field("pack_id", pa.string(), False),
        pa.field("n", pa.int64(), False),
        pa.field("problem_ids", pa.list_(pa.field("item", pa.string(), False)), False),
        pa.field("difficulties", pa.list_(pa.field("item", pa.float64(), True)), False),
        pa.field("mean_difficulty", pa.float64(), True),
    ]
)


def test_trl_format_holds_the_verl_rows_in_trls_columns_and_scores_through_bcr_trl(bcr_bin, deepmath, built, tmp_path):
    out = tmp_path / "trl.parquet"
    proc = build(bcr_bin, "--format", "trl", "--input", deepmath, "--n", 3, "--strategy", "stratified", "--output", out)
    assert proc.returncode == 0, proc.stderr
    trl, (verl, _) = pq.read_table(out), built
    assert trl.schema.remove_metadata() == TRL_SCHEMA
    for t, v in zip(trl.to_pylist(), verl.to_pylist(), strict=True):
        assert t["prompt"] == v["prompt"] and t["ground_truth"] == v["reward_model"]["ground_truth"]
        assert (t["pack_id"], t["n"], t["problem_ids"]) == tuple(v["extra_info"][k] for k in ("pack_id", "n", "problem_ids"))
    # As TRL calls it: every column but `prompt` as a keyword, one value per completion.
    columns = {k: v for k, v in trl.to_pydict().items() if k != "prompt"}
    completions = [[{"role": "assistant", "content": bcr_response(json.loads(g))}] for g in columns["ground_truth"]]
    rewards = bcr.trl.reward(prompts=trl.column("prompt").to_pylist(), completions=completions, **columns)
    assert rewards == [pytest.approx(1.1)] * trl.num_rows


def test_system_message_and_label(bcr_bin, deepmath, tmp_path):
    out = tmp_path / "t.parquet"
    proc = build(bcr_bin, "--input", deepmath, "--n", 2, "--label", "Final", "--system", "Be brief.",
                 "--data-source", "deepmath", "--output", out)
    assert proc.returncode == 0, proc.stderr
    row = pq.read_table(out).to_pylist()[0]
    assert row["data_source"] == "deepmath"
    assert row["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert "Final 1: \\boxed{...}" in row["prompt"][1]["content"]


@pytest.mark.parametrize(
    "args, match",
    [
        (["--input", "/nonexistent.jsonl", "--n", "3"], "nonexistent.jsonl"),
        (["--input", "{deepmath}", "--n", "3", "--val-benchmarks", "math501", "--val-output", "{out}"], "math501"),
        (["--input", "{deepmath}", "--n", "3", "--label", "Ans:"], "label"),
        (["--input", "{bad}", "--n", "3"], "bad.jsonl:2"),
    ],
)
def test_user_errors_exit_1_with_one_line(bcr_bin, deepmath, tmp_path, args, match):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q", "answer": "1"}\n{"id": "b", "question": 3}\n')
    subst = {"{deepmath}": str(deepmath), "{out}": str(tmp_path / "v.parquet"), "{bad}": str(bad)}
    args = [subst.get(a, a) for a in args]
    proc = build(bcr_bin, *args, "--output", tmp_path / "o.parquet")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and match in lines[-1], proc.stderr
    assert "panicked" not in proc.stderr
