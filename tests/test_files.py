"""Safe writes: atomic files on full and read-only disks, checked output folders, folder locks."""

import errno
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from conftest import fill_disk, partial_files
from mnist_cnn import files
from mnist_cnn.errors import BusyError, OutputError


def test_atomic_write_on_a_real_full_disk_names_the_path_and_leaves_nothing(small_disk):
    fill_disk(small_disk, leave_bytes=64_000)
    target = small_disk / "report.txt"
    with pytest.raises(OutputError, match=f"cannot write {target}: no space left on the disk; free some space"):
        files.write_text(target, "x" * 1_000_000)
    assert not target.exists() and partial_files(small_disk) == []


def test_output_folder_on_a_real_full_disk_is_refused_before_work_starts(small_disk):
    with pytest.raises(OutputError, match=r"only 0\.5 MB free on its disk and about 50 MB needed"):
        files.ensure_folder(small_disk / "run", "--out", needed_bytes=50_000_000)


def test_output_folder_on_a_real_read_only_disk_is_refused(read_only_disk):
    with pytest.raises(OutputError, match=f"cannot write {read_only_disk / 'run'}: the disk is read-only"):
        files.ensure_folder(read_only_disk / "run", "--out")


@pytest.mark.parametrize(
    "number, reason",
    [
        (errno.ENOSPC, "no space left on the disk; free some space"),
        (errno.EDQUOT, "over the disk quota"),
        (errno.EACCES, "permission denied; choose a folder you can write to"),
        (errno.EROFS, "the disk is read-only; choose a folder on a writable disk"),
    ],
)
def test_a_failed_rename_becomes_one_output_error_and_removes_the_partial_file(tmp_path, monkeypatch, number, reason):
    def failing_replace(source, target):
        raise OSError(number, os.strerror(number), str(target))

    monkeypatch.setattr(files.os, "replace", failing_replace)
    target = tmp_path / "metrics.json"
    with pytest.raises(OutputError, match=f"cannot write {target}: {reason}"):
        files.write_json(target, {"accuracy": 0.99})
    assert list(tmp_path.iterdir()) == []


def test_a_folder_without_write_permission_is_refused_up_front(tmp_path, monkeypatch):
    def denied(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(files.Path, "touch", denied)  # root ignores permission bits, so simulate
    with pytest.raises(OutputError, match=f"cannot write {tmp_path / 'out'}: permission denied"):
        files.ensure_folder(tmp_path / "out", "--out")


def test_a_folder_that_takes_no_new_files_is_named_with_that_reason(tmp_path, monkeypatch):
    def vanished(self, *args, **kwargs):  # what creating a file in /proc or /sys gives
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(self))

    monkeypatch.setattr(files.Path, "touch", vanished)
    message = f"cannot write {tmp_path}: no file can be created in this folder; choose a folder you can write to"
    with pytest.raises(OutputError, match=message):
        files.ensure_folder(tmp_path, "--csv")


def test_an_output_folder_that_is_a_file_or_lies_under_one_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(OutputError, match="notes.txt is a file, not a folder; choose another --out"):
        files.ensure_folder(tmp_path / "notes.txt", "--out")
    with pytest.raises(OutputError, match=r"notes.txt is a file, not a folder \(so .*notes.txt/a/b cannot be"):
        files.ensure_folder(tmp_path / "notes.txt" / "a" / "b", "--out")


def test_an_atomic_write_under_a_file_names_the_file_in_the_way(tmp_path):
    (tmp_path / "plots").write_text("")
    with pytest.raises(OutputError, match="plots is a file, not a folder"):
        files.write_text(tmp_path / "plots" / "a.txt", "x")


def test_a_new_file_is_never_replaced_without_force(tmp_path):
    existing = tmp_path / "results.csv"
    existing.write_text("old")
    with pytest.raises(OutputError, match="results.csv already exists; add --force to replace it"):
        files.ensure_new_file(existing, "--csv")
    assert files.ensure_new_file(existing, "--csv", force=True) == existing
    with pytest.raises(OutputError, match="is a folder; give --csv a file name"):
        files.ensure_new_file(tmp_path, "--csv")


def test_an_oserror_about_another_file_passes_through_unchanged(tmp_path):
    with pytest.raises(FileNotFoundError), files.atomic_path(tmp_path / "copy.bin") as partial:
        (tmp_path / "missing-source").read_bytes()
        partial.write_bytes(b"")


def test_the_errno_of_an_h5py_error_is_found_in_its_message():
    error = OSError("Unable to synchronously create file (errno = 28, error message = 'No space left on device')")
    assert files.error_number(error) == errno.ENOSPC


def test_partial_files_of_a_killed_writer_are_removed(tmp_path):
    (tmp_path / ".model.keras.123.partial.keras").write_bytes(b"half")
    (tmp_path / ".partial-best.weights.h5").write_bytes(b"half")
    (tmp_path / ".savedmodel.9.partial").mkdir()
    (tmp_path / "model.keras").write_bytes(b"whole")
    assert len(files.remove_partials(tmp_path)) == 3
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]


HOLDER = textwrap.dedent(
    """
    import sys, time
    from mnist_cnn.files import folder_lock
    with folder_lock(sys.argv[1], "trained"):
        print("locked", flush=True)
        time.sleep(60)
    """
)


def hold_lock(folder):
    """A process holding ``folder``'s lock (the folder is created), started and confirmed."""
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_locked_folder_names_the_process_and_what_it_does(tmp_path):
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(BusyError, match=rf"{tmp_path}/ is being trained by process {holder.pid}; wait"):
            with files.folder_lock(tmp_path, "exported into"):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_by_a_killed_process_is_released_by_the_kernel(tmp_path):
    holder = hold_lock(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / files.LOCK_NAME).exists()  # left behind, but no longer locked
    with files.folder_lock(tmp_path, "trained"):
        assert (tmp_path / files.LOCK_NAME).read_text().startswith(f"{os.getpid()} trained")
    assert not (tmp_path / files.LOCK_NAME).exists()


def test_a_lock_file_on_a_read_only_disk_is_an_output_error(read_only_disk):
    with pytest.raises(OutputError, match="the disk is read-only"), files.folder_lock(read_only_disk, "trained"):
        pass


def test_a_new_file_refuses_a_pipe_and_follows_a_symbolic_link(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OutputError, match="pipe is not a regular file \\(a device or a pipe\\); give --csv a file"):
        files.ensure_new_file(pipe, "--csv", force=True)
    (tmp_path / "real.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to("real.csv")
    with pytest.raises(OutputError, match="link.csv already exists"):
        files.ensure_new_file(tmp_path / "link.csv", "--csv")
    assert files.ensure_new_file(tmp_path / "link.csv", "--csv", force=True) == tmp_path / "real.csv"


def test_predict_csv_never_replaces_a_pipe_a_link_or_an_input_image(tmp_path, capfd):
    from conftest import main_fails
    from mnist_cnn.cli import main
    from test_preprocessing import draw_seven

    good = tmp_path / "good.png"
    draw_seven().save(good)
    image = good.read_bytes()
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    line = main_fails(["predict", str(good), "--csv", str(pipe), "--force", "--model", "seed"], capfd)
    assert line == f"error: {pipe} is not a regular file (a device or a pipe); give --csv a file name"
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    line = main_fails(["predict", str(good), "--csv", str(good), "--force", "--model", "seed"], capfd)
    assert line == f"error: --csv {good} is one of the images to read; choose another file for the rows"
    assert good.read_bytes() == image
    (tmp_path / "rows.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to("rows.csv")
    assert main(["predict", str(good), "--csv", str(tmp_path / "link.csv"), "--force", "--model", "seed"]) == 0
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "rows.csv").read_text().startswith("path,digit")
