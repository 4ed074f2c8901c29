import csv
import json
import os

import pytest
import tensorflow as tf

import cli

ROWS = [
    ("a wonderful film with a great cast", "pos"),
    ("great acting and a moving story", "pos"),
    ("a dull and boring mess", "neg"),
    ("the plot is weak and the film is boring", "neg"),
]


def write_csv(path, rows, header=("review", "sentiment")):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def classify(model_dir, train, output, *extra):
    return cli.main([
        "finetune", "classify", "--model", model_dir, "--train", train, "--text-column", "review",
        "--label-column", "sentiment", "--output", str(output), "--epochs", "1", "--batch-size", "4",
        "--seq-length", "16", *extra,
    ])


def test_classify_prints_accuracy_writes_model_and_serving_and_export_rewrites_it(bert_pretrained, tmp_path, capsys):
    train = write_csv(tmp_path / "train.csv", ROWS)
    test = write_csv(tmp_path / "test.csv", ROWS[:2])
    assert classify(bert_pretrained[0], train, tmp_path / "out", "--test", test, "--pooling", "mean") == 0
    printed = capsys.readouterr().out
    assert "test accuracy: " in printed and "(2 examples)" in printed
    assert os.path.exists(tmp_path / "out" / "model.keras")
    with open(tmp_path / "out" / "finetune.json", encoding="utf-8") as file:
        assert json.load(file)["pooling"] == "mean"
    with open(tmp_path / "out" / "metrics.json", encoding="utf-8") as file:
        metrics = json.load(file)
    assert metrics["test_examples"] == 2 and f"test accuracy: {metrics['test_accuracy']:.4f}" in printed
    served = tf.saved_model.load(str(tmp_path / "out" / "serving"))
    labels = served.signatures["serving_default"](text=tf.constant(["a boring film"]))["label"].numpy()
    assert labels[0] in (b"neg", b"pos")
    assert cli.main(["export", "--model", str(tmp_path / "out"), "--output", str(tmp_path / "again")]) == 0
    assert "serve_examples" in tf.saved_model.load(str(tmp_path / "again")).signatures


@pytest.mark.parametrize("make_input, message", [
    (lambda tmp: (write_csv(tmp / "train.csv", ROWS, header=("text", "sentiment")), None), "no column 'review'"),
    (lambda tmp: (write_csv(tmp / "train.csv", ROWS), write_csv(tmp / "test.csv", [("meh", "neutral")])), "'neutral' never occur"),
    (lambda tmp: ((tmp / "empty.csv").write_text("") and None or str(tmp / "empty.csv"), None), "empty"),
], ids=["missing-column", "label-only-in-test", "empty-file"])
def test_classify_reports_bad_input_clearly(tmp_path, capsys, make_input, message):
    train, test = make_input(tmp_path)
    extra = ["--test", test] if test else []
    assert classify(str(tmp_path), train, tmp_path / "out", *extra) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_tag_trains_on_conll_writes_serving_and_export_rewrites_it(bert_pretrained, tmp_path, capsys):
    conll = tmp_path / "train.conll"
    conll.write_text("-DOCSTART- O\n\njohn B-PER\nlives O\nin O\nlondon B-LOC\n\nmary B-PER\nvisited O\nparis B-LOC\n")
    assert cli.main(["finetune", "tag", "--model", bert_pretrained[0], "--train", str(conll), "--test", str(conll),
                     "--output", str(tmp_path / "tagger"), "--epochs", "1", "--seq-length", "16"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy (per word)" in printed and f"{tmp_path / 'tagger'}/serving" in printed
    served = tf.saved_model.load(str(tmp_path / "tagger" / "serving")).signatures["serving_default"]
    answer = served(text=tf.constant(["mary lives in paris"]))
    assert answer["words"].numpy().tolist() == [[b"mary", b"lives", b"in", b"paris"]]
    assert set(answer["tags"].numpy()[0]) <= {b"B-LOC", b"B-PER", b"O"}
    assert cli.main(["export", "--model", str(tmp_path / "tagger"), "--output", str(tmp_path / "again")]) == 0
    assert "serve_words" in tf.saved_model.load(str(tmp_path / "again")).signatures
    assert cli.main(["export", "--model", bert_pretrained[0], "--output", str(tmp_path / "backbone")]) == 0
    assert {"serving_default", "preprocess", "preprocess_pair"} <= set(tf.saved_model.load(str(tmp_path / "backbone")).signatures)
