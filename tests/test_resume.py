"""What a kill can leave in a run folder, and how the next run reads it (no training here: see
tests/test_kill_campaign.py for the real thing)."""

import json

from mnist_cnn.training import TrainConfig, choose_run_dir, finished_epochs, read_history, repair_backup


def test_a_history_row_cut_off_by_a_kill_is_dropped(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,accuracy,loss\n0,0.9,0.3\n1,0.95,0.2\n2,0.9")
    assert [row["epoch"] for row in read_history(tmp_path)] == [0.0, 1.0]


def test_backup_metadata_cut_off_by_a_kill_falls_back_to_the_previous_epoch(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "training_metadata.json").write_text('{"epoch": 3, "ba')
    (backup / "training_metadata.json.bkp").write_text('{"epoch": 2, "batch": 0}')
    (backup / "latest.weights.h5").write_bytes(b"epoch 3, maybe")
    (backup / "latest.weights.h5.bkp").write_bytes(b"epoch 2")
    repair_backup(tmp_path)
    assert finished_epochs(tmp_path) == 2 and (backup / "latest.weights.h5").read_bytes() == b"epoch 2"


def test_a_backup_with_no_whole_copy_is_removed_so_the_run_starts_again(tmp_path):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "training_metadata.json").write_text("")
    repair_backup(tmp_path)
    assert not (tmp_path / "backup").exists() and finished_epochs(tmp_path) == 0


def test_a_folder_holding_only_a_killed_runs_lock_and_partial_file_is_still_usable(tmp_path):
    (tmp_path / ".mnist-cnn.lock").write_text("1234 trained\n")
    (tmp_path / ".run.json.1234.partial.json").write_text('{"conf')
    config = TrainConfig(epochs=1).resolved()
    assert choose_run_dir(config, tmp_path) == tmp_path
    (tmp_path / "run.json").write_text(json.dumps({"config": config.__dict__}))
    assert choose_run_dir(config, tmp_path) == tmp_path
