"""The ``mnist-cnn`` command line. Only this module prints and exits."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from mnist_cnn.errors import DataError, ImageError, MissingExtraError, MnistCnnError, UsageError
from mnist_cnn.quiet import VERBOSE_ENV_VAR, quiet_python_logs

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away
NAME_HELP = (  # how output_names names the files written for each input
    "NAME is the image's path below the folder all inputs share (DIR/0/a.png and DIR/1/a.png: 0/a.png and "
    "1/a.png), its file name when they are all in one folder; standard input is stdin (stdin-1 if a file is so named)"
)


class Parser(argparse.ArgumentParser):
    """argparse that reports bad options in one line and exit code 2, like every other user mistake."""

    def error(self, message):
        raise SystemExit(fail(f"{self.prog}: {message}"))


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


def quiet_libraries(verbose: bool, needs_tensorflow: bool) -> None:
    """Hide TensorFlow's start-up log lines and Keras' legacy-format warnings unless --verbose."""
    if verbose:
        os.environ[VERBOSE_ENV_VAR] = "1"
        return
    quiet_python_logs(needs_tensorflow)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text}")
    return value


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", default="mnist", choices=["mnist", "fashion-mnist"], help="dataset (default: mnist)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder holding the four IDX files (default: $MNIST_CNN_DATA, then the cache, then a download)",
    )


def add_model_data_options(parser: argparse.ArgumentParser, purpose: str) -> None:
    """--data-dir and --dataset for a command that works on a trained model: the dataset defaults to the
    one the model's metrics.json names (None here), not to mnist."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help=f"dataset folder {purpose} (default: $MNIST_CNN_DATA, then the cache, then a download)",
    )
    parser.add_argument(
        "--dataset",
        choices=["mnist", "fashion-mnist"],
        help="the data the model was trained on (default: as its metrics.json says, else mnist)",
    )


def build_parser() -> argparse.ArgumentParser:
    from mnist_cnn import __version__

    parser = Parser(prog="mnist-cnn", description="Train, evaluate and use convolutional digit classifiers on MNIST.")
    parser.add_argument("--version", action="version", version=f"mnist-cnn {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's log output and warnings")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)

    data = commands.add_parser("data", help="get, import or describe the dataset files")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION", parser_class=Parser)
    for name, text in (
        ("fetch", "make sure the files are available, downloading them into the cache if needed"),
        ("info", "show where each file is, its item count and checksum status"),
    ):
        add_data_options(data_commands.add_parser(name, help=text))
    data_import = data_commands.add_parser("import", help="copy a folder's four files into the cache, verified")
    data_import.add_argument("folder", type=Path, metavar="DIR")
    data_import.add_argument(
        "--dataset", default="mnist", choices=["mnist", "fashion-mnist"], help="dataset (default: mnist)"
    )

    commands.add_parser("models", help="list the model registry with parameter counts")

    train = commands.add_parser("train", help="train a model and write every artifact into a run folder")
    train.add_argument(
        "--model",
        help="architecture from `mnist-cnn models`; an ensemble may mix them, e.g. best,seed (members take them "
        "in turn) (default: seed)",
    )
    add_data_options(train)
    train.add_argument("--epochs", type=positive_int, help="epochs (default: the recipe's; seed: 20)")
    train.add_argument("--batch-size", type=positive_int, help="batch size (default: the recipe's; seed: 128)")
    train.add_argument(
        "--learning-rate",
        type=float,
        help="peak learning rate of the warm-up + cosine schedule, in (0, 1] (default: the recipe's; seed: 0.003)",
    )
    train.add_argument(
        "--validation-fraction",
        type=float,
        help="stratified share of the training images held out to pick the best epoch (default: 0.1)",
    )
    train.add_argument("--seed", type=int, help="random seed for the split, weights and shuffling (default: 42)")
    train.add_argument(
        "--split-seed",
        type=int,
        help="seed of the validation split alone, so runs with other --seed values hold out the same "
        "images (default: --seed; an ensemble's members all use the ensemble's)",
    )
    train.add_argument(
        "--pen-augmentation",
        type=float,
        metavar="SHARE",
        help="share of training images (0-1) also given pen, paper and camera variations: stroke width, "
        "blur, low resolution, elastic distortion, contrast, lines, noise (default: the recipe's; best: 0.5, "
        "seed: 0)",
    )
    train.add_argument(
        "--marker-digits",
        type=int,
        metavar="N",
        help="also train on N training digits written with a thick marker (1.5-4.5x MNIST's stroke) at full "
        "size and put through predict's preprocessing, as bold markers reach the model (made once per run "
        "folder, about 45 ms each); the epoch kept is chosen on the validation split and up to 2,000 of its "
        "digits so written (default: 0)",
    )
    train.add_argument(
        "--drawn-digits",
        type=int,
        metavar="N",
        help="also train on N training digits drawn with the drawing page's round pen (0.6-2x MNIST's stroke, "
        "flat ink) at full size and put through predict's preprocessing, as drawings reach the model (made "
        "once per run folder); the epoch kept is chosen on the validation split and up to 2,000 of its digits "
        "so drawn (default: 0)",
    )
    train.add_argument(
        "--pen-closing",
        type=float,
        metavar="SHARE",
        help="share (0-1) of those images also drawn with a fat pen and thinned again (a morphological closing: "
        "bold markers, small drawings) (default: the recipe's, 0)",
    )
    train.add_argument(
        "--pen-trace",
        type=float,
        metavar="SHARE",
        help="share (0-1) of those images also retraced with a round pen of constant width (drawings on the "
        "page, felt pens) (default: the recipe's, 0)",
    )
    train.add_argument(
        "--pen-contour",
        type=float,
        metavar="SHARE",
        help="share (0-1) of those images also drawn as contours, one-pixel lines along each stroke's edges (edge "
        "maps, hollow lettering) (default: the recipe's, 0)",
    )
    train.add_argument(
        "--pen-sheet-edge",
        type=float,
        metavar="SHARE",
        help="share (0-1) of those images also showing a sheet's edge, a bright band along a side (default: the "
        "recipe's, 0)",
    )
    train.add_argument(
        "--init",
        metavar="MODEL",
        help="start from this model's weights (a shipped name or a .keras/.h5 file of the same architecture) "
        "instead of random ones: fine-tuning (default: from scratch)",
    )
    train.add_argument(
        "--teacher",
        metavar="MODEL",
        help="distil from this model (a shipped name or a .keras/.h5 file giving 10 probabilities): its "
        "probabilities on the clean training images are mixed into the targets (default: the labels alone)",
    )
    train.add_argument(
        "--teacher-weight",
        type=float,
        metavar="SHARE",
        help="the teacher's share (0-1) of each target; the labels have the rest (default with --teacher: 0.5)",
    )
    train.add_argument(
        "--teacher-temperature",
        type=float,
        metavar="T",
        help="softens the teacher's probabilities, softmax(log p / T), before they are mixed (default with "
        "--teacher: 2)",
    )
    train.add_argument(
        "--limit",
        type=positive_int,
        help="train on a stratified subset of N training images, for quick runs (default: all 60,000)",
    )
    train.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="run folder (default: runs/<date-time>-<model>/, or the unfinished run of the same settings)",
    )
    train.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs (default: off)")
    train.add_argument(
        "--ensemble",
        type=positive_int,
        metavar="K",
        help="train K members with seeds seed..seed+K-1, all holding out the same validation split, and "
        "save one model averaging their probabilities (default: 1, a single model)",
    )
    add_scale_options(train)
    add_tune_parser(commands)
    evaluate = commands.add_parser("evaluate", help="score a model on the test set or on your own labelled images")
    evaluate.add_argument(
        "--model", help="shipped model name or a model file: .keras/.h5, .onnx, .tflite (default: the shipped model)"
    )
    add_data_options(evaluate)
    evaluate.add_argument(
        "--images",
        type=Path,
        metavar="DIR",
        help="score your own labelled images instead of the test set: DIR/0/ ... DIR/9/ hold each digit's "
        "images (default: the test set)",
    )
    evaluate.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="also write the confusion matrix, reliability diagram, classification report, misclassified grid and "
        "embedding.png (a t-SNE of the penultimate layer, 2,000 digits with every mistake) here",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    add_runtime_option(evaluate)

    predict = commands.add_parser("predict", help="predict the digit in your own images")
    predict.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="PNG, JPEG, BMP, GIF, WebP or TIFF files, .npy arrays of shape (28, 28), folders of them "
        "(every image in it, sorted), or - for one image on standard input",
    )
    predict.add_argument(
        "--recursive", action="store_true", help="with a folder, also read the images in its subfolders (default: off)"
    )
    predict.add_argument(
        "--csv",
        type=Path,
        metavar="FILE",
        help="also write one row per image to FILE: path, digit, confidence, status, error (an image that "
        "cannot be read gets status error and the reason; default: none)",
    )
    predict.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --csv FILE (a symbolic link: the file it points to) (default: off)",
    )
    predict.add_argument(
        "--model", help="shipped model name or a model file: .keras/.h5, .onnx, .tflite (default: the shipped model)"
    )
    predict.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per line for each image read (path, status, digit, confidence, "
        "digit_probability, probabilities); an image that cannot be read, or holds no digit at all, gets its "
        "error on stderr instead (and a row with status error in --csv)",
    )
    reading = predict.add_mutually_exclusive_group()
    reading.add_argument(
        "--single",
        action="store_true",
        help="one digit per image, never a number (default: a number when several digits are found)",
    )
    reading.add_argument("--number", action="store_true", help="read every image as a number, even of one digit")
    predict.add_argument(
        "--accept-all",
        action="store_true",
        help="turn rejection off: answer a digit for every image, never 'not a digit' or 'unsure' (default: off)",
    )
    predict.add_argument(
        "--save-preprocessed",
        type=Path,
        metavar="DIR",
        help="write the 28x28 image the model sees for each input into DIR as NAME.28x28.png (a number: "
        f"NAME.1.28x28.png, ... per digit); {NAME_HELP} (default: none)",
    )
    predict.add_argument(
        "--explain",
        type=Path,
        metavar="DIR",
        help="also write each input's explanation into DIR as `mnist-cnn explain` does, NAME.explain.png "
        "(default: none)",
    )
    add_method_option(predict, "with --explain: ")
    add_runtime_option(predict)

    explain = commands.add_parser(
        "explain", help="show which pixels made the model answer as it did, for your own images"
    )
    explain.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="image files, .npy arrays of shape (28, 28), folders of them, or - for standard input (as predict)",
    )
    explain.add_argument(
        "--recursive", action="store_true", help="with a folder, also read the images in its subfolders (default: off)"
    )
    explain.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write NAME.explain.png per image (a number: NAME.1.explain.png, ... per digit): the 28x28 the "
        f"model saw, the map over it, the top three digits; {NAME_HELP}",
    )
    explain.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per image per line: the prediction and its 28x28 map (default: a line of text)",
    )
    add_method_option(explain, "")
    explain.add_argument(
        "--model", help="shipped model name or a model file: .keras/.h5, .onnx, .tflite (default: the shipped model)"
    )
    add_runtime_option(explain)

    export = commands.add_parser("export", help="export a model as a SavedModel, ONNX or LiteRT file")
    export.add_argument("--model", help="shipped model name or a .keras/.h5 file (default: the shipped model)")
    export.add_argument(
        "--format", default="all", choices=["savedmodel", "onnx", "litert", "all"], help="export format (default: all)"
    )
    export.add_argument(
        "--quantize",
        choices=["float16", "int8"],
        help="LiteRT quantisation; int8 is calibrated on 500 training images (default: none)",
    )
    export.add_argument("--out", type=Path, metavar="DIR", required=True, help="output folder (required)")
    add_model_data_options(export, "for int8 calibration and the post-export accuracy check")

    calibrate = commands.add_parser(
        "calibrate", help="fit a temperature on the validation split and save the model calibrated (Guo et al. 2017)"
    )
    calibrate.add_argument("--model", help="shipped model name or a .keras/.h5 file (default: the shipped model)")
    calibrate.add_argument("--out", type=Path, metavar="DIR", required=True, help="output folder (required)")
    add_model_data_options(calibrate, "for the validation split the temperature is fitted on")

    interpolate = commands.add_parser(
        "interpolate",
        help="mix a model's weights with a copy fine-tuned from it (WiSE-FT, Wortsman et al. 2022) into a run folder",
    )
    interpolate.add_argument(
        "--start",
        default="best",
        metavar="MODEL",
        help="the model fine-tuned from: a shipped name or a .keras/.h5 file (default: best)",
    )
    interpolate.add_argument(
        "--tuned",
        type=Path,
        required=True,
        metavar="RUN",
        help="the run folder trained with --init from --start (required)",
    )
    interpolate.add_argument(
        "--alpha", type=float, required=True, help="the fine-tuned model's share of every weight, 0-1 (required)"
    )
    interpolate.add_argument("--out", type=Path, metavar="DIR", required=True, help="new run folder (required)")
    interpolate.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="dataset folder (default: $MNIST_CNN_DATA, then the cache)"
    )

    serve = commands.add_parser("serve", help="serve a page to draw digits on and an HTTP API (needs the serve extra)")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on; 0.0.0.0 for every network (default: 127.0.0.1)"
    )
    serve.add_argument("--port", type=positive_int, default=8000, help="port to listen on (default: 8000)")
    serve.add_argument(
        "--model", help="shipped model name or a model file: .keras/.h5, .onnx, .tflite (default: the shipped model)"
    )
    add_runtime_option(serve)
    serve.add_argument(
        "--workers", type=positive_int, default=1, help="server processes, each with its own model copy (default: 1)"
    )
    serve.add_argument(
        "--max-body-mb", type=positive_int, default=5, help="largest request body accepted, in MB (default: 5)"
    )
    serve.add_argument("--max-batch", type=positive_int, default=64, help="most images per request (default: 64)")
    serve.add_argument(
        "--accept-all",
        action="store_true",
        help="turn rejection off: answer a digit for every image, never not_a_digit or unsure (default: off)",
    )
    return parser


def add_scale_options(train: argparse.ArgumentParser) -> None:
    """train's --config and the options that take training past one process (Ray, JAX)."""
    train.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="settings from a JSON file, e.g. the best.json `mnist-cnn tune` writes; options given here win "
        "(default: none)",
    )
    train.add_argument(
        "--parallel",
        type=positive_int,
        metavar="P",
        help="with --ensemble: train P members at once as Ray tasks, each with 1/P of the CPUs (default: 1, "
        "one after another without Ray)",
    )
    train.add_argument(
        "--address",
        metavar="ADDR",
        help="with --ensemble: train the members on the Ray cluster whose head is at HOST:PORT, or auto "
        "(default: this machine)",
    )
    train.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        metavar="N",
        help="train one model data-parallel across N processes with JAX (run with KERAS_BACKEND=jax), each "
        "started with its own --process-id and --out (default: 1)",
    )
    train.add_argument("--coordinator", metavar="HOST:PORT", help="with --processes: where process 0 listens")
    train.add_argument("--process-id", type=int, metavar="I", help="with --processes: this process's number, 0 to N-1")
    train.set_defaults(dataset=None)  # the --config file's, else mnist


def add_tune_parser(commands) -> None:
    tune = commands.add_parser(
        "tune", help="search a recipe's settings with Optuna and ASHA on Ray (needs the scale extra)"
    )
    tune.add_argument("--model", required=True, help="the recipe to tune, from `mnist-cnn models` (required)")
    tune.add_argument("--trials", type=positive_int, required=True, metavar="N", help="trials to run (required)")
    tune.add_argument(
        "--space",
        type=Path,
        metavar="FILE",
        help='JSON: setting -> a value or {"log_uniform"|"uniform"|"int": [low, high]} or {"choice": [...]}, '
        "replacing the default range of each setting it names (default: ranges around the recipe's settings; "
        "see docs/SCALING.md)",
    )
    tune.add_argument(
        "--target",
        type=float,
        metavar="ACC",
        help="search for the shortest training time to this validation accuracy (0-1) instead of the highest "
        "accuracy (default: the highest accuracy)",
    )
    tune.add_argument(
        "--parallel",
        type=positive_int,
        default=1,
        metavar="P",
        help="trials at once, each with 1/P of the CPUs and GPUs (default: 1)",
    )
    tune.add_argument(
        "--address",
        metavar="ADDR",
        help="run the trials on the Ray cluster whose head is at HOST:PORT, or auto (default: a local Ray)",
    )
    tune.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        required=True,
        help="output folder; rerunning the same command on it continues the search (required)",
    )
    add_data_options(tune)
    tune.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        help="stratified share of the training images the trials are scored on (default: 0.1)",
    )
    tune.add_argument("--seed", type=int, default=42, help="every trial's seed and the split's (default: 42)")
    tune.add_argument(
        "--limit",
        type=positive_int,
        help="search on a stratified subset of N training images, for quick runs (default: all 60,000)",
    )


def add_method_option(parser: argparse.ArgumentParser, prefix: str) -> None:
    parser.add_argument(
        "--method",
        choices=["occlusion", "integrated-gradients"],
        help=f"{prefix}occlusion (every runtime) or integrated-gradients (Keras; picks --runtime keras when no "
        "runtime is given) (default: occlusion)",
    )


def add_runtime_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=["onnx", "litert", "keras"],
        help="inference runtime (default: the fastest installed for a shipped model, else the model file's own)",
    )


def require_plotting(command: str) -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise MissingExtraError(f"`mnist-cnn {command}` draws with Matplotlib: pip install 'mnist-cnn[train]'")


def require_training_extra(command: str) -> None:
    import importlib.util

    missing = [name for name in ("tensorflow", "keras", "sklearn", "matplotlib") if not importlib.util.find_spec(name)]
    if missing:
        raise MissingExtraError(
            f"`mnist-cnn {command}` needs the training extra ({', '.join(missing)} missing): "
            f"pip install 'mnist-cnn[train]'"
        )


def run_data(args) -> int:
    from mnist_cnn import data

    if args.data_command == "import":
        for role, path in data.import_folder(args.folder, args.dataset).items():
            print(f"{data.FILE_NAMES[role]:28} -> {path}")
        return 0
    if args.data_command == "fetch":
        paths = data.locate(args.dataset, args.data_dir)
        for role in data.ROLES:
            print(f"{data.FILE_NAMES[role]:28} {paths[role]}")
        return 0
    rows = data.describe(args.dataset, args.data_dir)
    for row in rows:
        count = "-" if row["count"] is None else f"{row['count']:,}"
        print(f"{row['file']:28} {count:>7}  {row['checksum']:9} {row['path'] or '(not found)'}")
    if all(row["checksum"] == "ok" for row in rows):
        return 0
    named_folder = data.named_folder(args.data_dir)
    try:  # say where it looked and what to do, as `train` would
        data.locate(args.dataset, args.data_dir, download=False)
        problem = (
            "some files are damaged or not the official ones: replace them with `mnist-cnn data import DIR` "
            "(it verifies each file)" + ("" if named_folder else ", or delete them and run `mnist-cnn data fetch`")
        )
    except DataError as error:
        problem = str(error) + ("" if named_folder else ", or `mnist-cnn data fetch` to download them")
    print(f"error: {problem}", file=sys.stderr)
    return EXIT_USAGE


def run_models(args) -> int:
    require_training_extra("models")
    from mnist_cnn import models

    print(f"{'name':8} {'parameters':>10}  description")
    for name, recipe in models.RECIPES.items():
        print(f"{name:8} {recipe.build().count_params():>10,}  {recipe.description}")
    return 0


def run_train(args) -> int:
    require_training_extra("train")
    ray, processes = scale_options(args)
    from mnist_cnn.training import TrainConfig, read_config_file, train

    given = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "validation_fraction": args.validation_fraction,
        "seed": args.seed,
        "limit": args.limit,
        "ensemble": args.ensemble,
        "split_seed": args.split_seed,
        "pen_augmentation": args.pen_augmentation,
        "pen_closing": args.pen_closing,
        "pen_trace": args.pen_trace,
        "pen_contour": args.pen_contour,
        "pen_sheet_edge": args.pen_sheet_edge,
        "marker_digits": args.marker_digits,
        "drawn_digits": args.drawn_digits,
        "init": args.init,
        "teacher": args.teacher,
        "teacher_weight": args.teacher_weight,
        "teacher_temperature": args.teacher_temperature,
    }
    settings = read_config_file(args.config) if args.config else {}
    settings.update({name: value for name, value in given.items() if value is not None})
    result = train(
        TrainConfig(**settings),
        out_dir=args.out,
        data_dir=args.data_dir,
        tensorboard=args.tensorboard,
        command=shlex.join(["mnist-cnn", *sys.argv[1:]]),
        ray=ray,
        processes=processes,
    )
    metrics = result.metrics
    if "members" in metrics:
        members = ", ".join(f"{member['test_accuracy']:.2%}" for member in metrics["members"])
        trained = f"{len(metrics['members'])} members: {members}"
    else:
        trained = f"best epoch {metrics['best_epoch']} of {metrics['epochs']}"
    print(
        f"test accuracy {metrics['test_accuracy']:.2%}, loss {metrics['test_loss']:.4f} "
        f"({trained}; {metrics['seconds']:.0f} s of training)"
    )
    print(f"artifacts in {result.run_dir}/:")
    for path in sorted(result.run_dir.iterdir()):
        if path.is_file() and path.name != "run.json":
            print(f"  {path}")
    return 0


def scale_options(args):
    """(RayOptions or None, ProcessGroup or None) from train's options. Raises UsageError for options
    that only make sense together."""
    from mnist_cnn.distributed import ProcessGroup, RayOptions

    ray = None
    if args.parallel is not None or args.address is not None:
        ray = RayOptions(parallel=args.parallel or 1, address=args.address)
        if ray.parallel == 1 and ray.address is None:
            ray = None  # one member at a time on this machine: no Ray needed
    if args.processes == 1:
        if args.coordinator is not None or args.process_id is not None:
            raise UsageError("--coordinator and --process-id go with --processes N (N >= 2)")
        return ray, None
    if args.coordinator is None or args.process_id is None:
        raise UsageError(f"--processes {args.processes} needs --coordinator HOST:PORT and --process-id I")
    if ray is not None:
        raise UsageError("--processes trains one model across processes; --parallel and --address are for ensembles")
    return None, ProcessGroup(processes=args.processes, coordinator=args.coordinator, process_id=args.process_id)


def run_tune(args) -> int:
    require_training_extra("tune")
    from mnist_cnn.tuning import SearchConfig, read_space, tune

    search = SearchConfig(
        model=args.model,
        trials=args.trials,
        space=read_space(args.space, args.model),
        target=args.target,
        dataset=args.dataset,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        limit=args.limit,
    )
    result = tune(
        search,
        args.out,
        parallel=args.parallel,
        address=args.address,
        data_dir=args.data_dir,
        command=shlex.join(["mnist-cnn", *sys.argv[1:]]),
    )
    best = result.best_trial
    if best is not None:
        reached = best["seconds_to_target"]
        outcome = f", reached {search.target:.2%} after {reached:.1f} s of training" if reached is not None else ""
        print(
            f"best of {len(result.trials)} trials: trial {best['trial']}, validation accuracy "
            f"{best['best_val_accuracy']:.2%}{outcome}"
        )
        print("settings: " + ", ".join(f"{name} {value:.4g}" for name, value in result.best.items()
                                       if not isinstance(value, str)))  # fmt: skip
    print(f"results in {result.out_dir}/: trials.csv, curves.csv, search.png" + (", best.json" if best else ""))
    if best is not None:
        print(f"train with them: mnist-cnn train --config {result.out_dir / 'best.json'}")
    return 0


TENSORFLOW_COMMANDS = {"models", "train", "export", "calibrate", "interpolate"}


def run_evaluate(args) -> int:
    from mnist_cnn import evaluation
    from mnist_cnn.files import ensure_folder
    from mnist_cnn.prediction import read_digits
    from mnist_cnn.runtimes import load_model

    if args.out:
        require_training_extra("evaluate --out")
        ensure_folder(args.out, "--out")
    classifier = load_model(args.model, runtime=args.runtime)
    images, labels, class_names, described, errors, kinds = evaluation_set(args, classifier)
    probabilities, _ = read_digits(classifier, images, kinds)  # tiny scans, bold strokes: as predict reads them
    result = evaluation.score(probabilities, labels, class_names)
    title = f"{classifier.name} on {described}"
    if args.out:
        evaluation.write_reports(result, args.out, images, title=title, embedding=embedding(classifier, images, result))
    if args.json:
        source = {"images": str(args.images)} if args.images else {}
        print(json.dumps({"model": classifier.name, "dataset": args.dataset, **source, **result.to_json()}))
    else:
        print(title)
        print(evaluation.format_table(result))
        if args.out:
            print(f"reports written to {args.out}/")
    return EXIT_USAGE if errors else 0


def embedding(classifier, images, result):
    """The set laid out by t-SNE for embedding.png; None, with a note, where no Keras model gives features."""
    from mnist_cnn import explain

    keras_model = explain.keras_model_of(classifier)
    if keras_model is None or len(images) < 2:
        reason = "fewer than 2 images" if keras_model is not None else f"no model.keras beside {classifier.path}"
        print_lines(
            [f"embedding.png needs penultimate-layer features of at least 2 images ({reason}); skipped"], "note"
        )
        return None
    return explain.embed_set(keras_model, images, result.labels, result.probabilities.argmax(axis=1))


def evaluation_set(args, classifier):
    """(images, labels, class names, what they are, error lines, each image's kind with a reader of its
    own, ``Reading.kind``, or None): the test set, or the --images collection, each image as
    ``predict`` gives it to ``classifier`` (``prediction.prepare_many``)."""
    from mnist_cnn import data

    if not args.images:
        dataset = data.load_dataset(args.dataset, args.data_dir)
        described = f"the {dataset.name} test set"
        return dataset.test_images, dataset.test_labels, dataset.class_names, described, [], None
    import numpy as np

    from mnist_cnn.image_files import labelled_images
    from mnist_cnn.prediction import prepare_many

    collection = labelled_images(args.images)
    print_lines(collection.notes, "note")
    prepared, names, errors, kinds = prepare_many(collection.sources, collection.names, classifier)
    print_lines(errors, "error")
    if not prepared:
        raise ImageError(f"{args.images}: none of its {len(collection.sources)} images could be read")
    label_of = dict(zip(collection.names, collection.labels))
    labels = np.array([label_of[name] for name in names])
    class_names = data.dataset_spec(args.dataset).class_names
    described = f"{args.images}/ ({len(prepared)} labelled images)"
    return np.stack(prepared), labels, class_names, described, errors, kinds


def print_lines(lines: list[str], kind: str) -> None:
    for line in lines:
        print(f"{kind}: {line}", file=sys.stderr)


def run_predict(args) -> int:
    from mnist_cnn.image_files import gather_images
    from mnist_cnn.prediction import classify_readings, read_many, write_csv
    from mnist_cnn.rejection import load_rejector
    from mnist_cnn.runtimes import load_model

    if args.method and not args.explain:
        raise UsageError("--method chooses how --explain DIR explains; add --explain DIR, or leave --method out")
    args.method = args.method or "occlusion"
    classifier = load_explainable_model(args) if args.explain else load_model(args.model, runtime=args.runtime)
    check_predict_outputs(args)
    images = gather_images(args.images, args.recursive, read_stdin=sys.stdin.buffer.read)
    check_csv_is_no_input(args.csv, images.sources)
    print_lines(images.notes, "note")
    mode = "single" if args.single else "number" if args.number else "auto"
    detector = load_rejector(classifier)  # its piece judge checks the cuts between touching digits, rejection on or off
    readings, names, failures = read_many(
        images.sources, images.names, mode, classifier.probabilities, detector.one_digit_probabilities
    )
    failures = images.failures + failures
    errors = images.errors + failures
    print_lines(errors, "error")
    if not readings:
        if args.csv and failures:
            write_csv([], args.csv, failures, order=images.given)
        return EXIT_USAGE
    rejector = None if args.accept_all else detector
    predictions = classify_readings(classifier, readings, names, rejector)
    file_names = output_names(images.names)
    if args.explain:
        from mnist_cnn.explain import explain_predictions

        for prediction, maps in zip(predictions, explain_predictions(classifier, predictions, args.method)):
            save_explanations(prediction, maps, args.explain, file_names[prediction.path], args.method, "--explain")
    if args.save_preprocessed:
        for prediction in predictions:
            save_preprocessed(prediction, args.save_preprocessed, file_names[prediction.path])
    if args.csv:  # the files first: a reader of stdout that stops early (``| head``) costs none of them
        write_csv(predictions, args.csv, failures, order=images.given)
    for prediction in predictions:
        print(json.dumps(prediction.to_json()) if args.json else f"{prediction.path}: {describe_line(prediction)}")
    return EXIT_USAGE if errors else 0


def describe_line(prediction) -> str:
    """What ``predict`` prints after an image's path: the number and its digits, or the digit and its top 3
    (for an image refused as no digit, "top 3 if a digit": the classifier's shares among the ten digits)."""
    from mnist_cnn.prediction import NumberPrediction

    if isinstance(prediction, NumberPrediction):
        return prediction.describe()
    top = ", ".join(f"{digit} {probability:.1%}" for digit, probability in prediction.top(3))
    label = "top 3 if a digit" if prediction.status == "not_a_digit" else "top 3"
    return f"{prediction.describe()}  {label}: {top}"


def check_predict_outputs(args) -> None:
    """Refuse unwritable output paths before any image is read."""
    from mnist_cnn.files import ensure_folder, ensure_new_file

    if args.explain:
        require_plotting("predict --explain")
        ensure_folder(args.explain, "--explain")
    if args.save_preprocessed:
        ensure_folder(args.save_preprocessed, "--save-preprocessed")
    if args.csv:
        args.csv = ensure_new_file(args.csv, "--csv", force=args.force)


def check_csv_is_no_input(csv_path: Path | None, sources: list) -> None:
    """Raises UsageError when the --csv file is one of the images to read (``sources``: paths, or
    standard input's bytes), which --force would otherwise overwrite."""
    if csv_path is None:
        return
    target = os.path.realpath(csv_path)
    for source in sources:
        if isinstance(source, Path) and os.path.realpath(source) == target:
            raise UsageError(f"--csv {csv_path} is one of the images to read; choose another file for the rows")


def output_names(paths: list[str]) -> dict[str, str]:
    """Each input's NAME in the files written for it: its path below the folder all the inputs share,
    so inputs of the same name in different folders (DIR/0/a.png, DIR/1/a.png: 0/a.png, 1/a.png) never
    overwrite each other's; inputs in one folder keep their file name. Standard input is ``stdin``, or
    ``stdin-1``, ``stdin-2``, ... when a file input already has that name (a file called stdin read
    together with ``-``), so neither overwrites the other's files."""
    from mnist_cnn.image_files import STDIN

    absolute = {path: os.path.abspath(path) for path in paths if path != STDIN}
    shared = os.path.commonpath([os.path.dirname(path) for path in absolute.values()]) if absolute else ""
    names = {path: os.path.relpath(full, shared) for path, full in absolute.items()}
    taken = set(names.values())
    stdin = next(name for name in ("stdin", *(f"stdin-{n}" for n in range(1, len(taken) + 2))) if name not in taken)
    return {STDIN: stdin, **names}


def digit_file_names(name: str, prediction, suffix: str) -> list[str]:
    """NAME.SUFFIX for one digit; NAME.1.SUFFIX, NAME.2.SUFFIX, ... for a number's digits, left to right.
    ``name``: the input's, from ``output_names`` (the full name: a.png and a.gif differ)."""
    digits = getattr(prediction, "digits", None)
    if digits is None:
        return [f"{name}.{suffix}"]
    return [f"{name}.{index}.{suffix}" for index in range(1, len(digits) + 1)]


def output_paths(folder: Path, name: str, prediction, suffix: str, option: str) -> list[Path]:
    """The files for ``prediction`` in ``folder``, with the subfolders ``name`` puts them in made.
    Raises OutputError."""
    from mnist_cnn.files import ensure_folder

    paths = [folder / file_name for file_name in digit_file_names(name, prediction, suffix)]
    ensure_folder(paths[0].parent, option)
    return paths


def save_preprocessed(prediction, folder: Path, name: str) -> list[Path]:
    """The 28x28 the model saw as NAME.28x28.png; a number's digits as NAME.1.28x28.png, NAME.2..., left to right."""
    from PIL import Image

    from mnist_cnn.files import atomic_path

    digits = getattr(prediction, "digits", [prediction])
    paths = output_paths(folder, name, prediction, "28x28.png", "--save-preprocessed")
    for path, digit in zip(paths, digits):
        with atomic_path(path) as partial:
            Image.fromarray(digit.image, mode="L").save(partial, format="PNG")
    return paths


def save_explanations(prediction, maps: list, folder: Path, name: str, method: str, option: str) -> list[Path]:
    """Each digit's explanation as NAME.explain.png (a number's: NAME.1.explain.png, ...): the 28x28 it
    was read from, the map over it and the top three digits."""
    from mnist_cnn.plots import save_explanation

    digits = getattr(prediction, "digits", [prediction])
    paths = output_paths(folder, name, prediction, "explain.png", option)
    for path, digit, attribution in zip(paths, digits, maps):
        headline = f"{path.name.removesuffix('.explain.png')}: {digit.describe()}"
        save_explanation(digit.image, attribution, digit.top(3), headline, method, path)
    return paths


def load_explainable_model(args):
    """The model for --model/--runtime on a runtime ``args.method`` works on (integrated gradients: Keras
    unless another runtime is asked for, which is refused). Raises UsageError, ModelError."""
    from mnist_cnn.explain import check_method, method_runtime
    from mnist_cnn.runtimes import load_model

    classifier = load_model(args.model, runtime=method_runtime(args.method, args.runtime))
    check_method(classifier, args.method)
    return classifier


def run_explain(args) -> int:
    from mnist_cnn.explain import explain_predictions, explanation_json
    from mnist_cnn.files import ensure_folder
    from mnist_cnn.image_files import gather_images
    from mnist_cnn.prediction import classify_readings, read_many
    from mnist_cnn.rejection import load_rejector

    if not (args.out or args.json):
        raise UsageError("give --out DIR for the pictures, --json for the maps, or both")
    args.method = args.method or "occlusion"
    classifier = load_explainable_model(args)
    if args.out:
        require_plotting("explain --out")
        ensure_folder(args.out, "--out")
    images = gather_images(args.images, args.recursive, read_stdin=sys.stdin.buffer.read)
    print_lines(images.notes, "note")
    rejector = load_rejector(classifier)
    readings, names, errors = read_many(
        images.sources, images.names, "auto", classifier.probabilities, rejector.one_digit_probabilities
    )
    errors = images.errors + images.failures + errors
    print_lines(errors, "error")
    predictions = classify_readings(classifier, readings, names, rejector)
    file_names = output_names(images.names)
    for prediction, maps in zip(predictions, explain_predictions(classifier, predictions, args.method)):
        name = file_names[prediction.path]
        written = save_explanations(prediction, maps, args.out, name, args.method, "--out") if args.out else []
        if args.json:
            answer = prediction.to_json()
            digits = answer.get("digits", [answer])
            for digit, attribution in zip(digits, maps):
                digit["explanation"] = explanation_json(attribution, digit["digit"], args.method)
            print(json.dumps(answer))
        else:
            print(f"{prediction.path}: {prediction.describe()}  -> {', '.join(str(path) for path in written)}")
    return EXIT_USAGE if errors else 0


def run_export(args) -> int:
    require_training_extra("export")
    from mnist_cnn.export import FORMATS, export

    formats = list(FORMATS) if args.format == "all" else [args.format]
    export(args.model, formats, args.out, quantize=args.quantize, data_dir=args.data_dir, dataset_name=args.dataset)
    print(f"manifest: {args.out / 'manifest.json'}")
    return 0


def run_calibrate(args) -> int:
    require_training_extra("calibrate")
    from mnist_cnn.calibration import calibrate_saved_model

    result = calibrate_saved_model(args.model, args.out, data_dir=args.data_dir, dataset_name=args.dataset)
    print(
        f"{result['model']}: temperature {result['temperature']:.3f}; on {result['held_out_images']:,} validation "
        f"images ECE {result['ece_before']:.2%} -> {result['ece_after']:.2%}, "
        f"NLL {result['nll_before']:.4f} -> {result['nll_after']:.4f}"
    )
    print(f"calibrated model: {args.out / 'model.keras'}")
    return 0


def run_interpolate(args) -> int:
    require_training_extra("interpolate")
    from mnist_cnn.training import interpolate_run

    command = shlex.join(["mnist-cnn", *sys.argv[1:]])
    result = interpolate_run(args.start, args.tuned, args.alpha, args.out, args.data_dir, command=command)
    metrics = result.metrics
    print(
        f"{args.start} and {args.tuned} mixed at alpha {args.alpha:g}: validation accuracy "
        f"{metrics['best_validation_accuracy']:.2%}, test accuracy {metrics['test_accuracy']:.2%}"
    )
    print(f"artifacts in {result.run_dir}/")
    return 0


def run_serve(args) -> int:
    from mnist_cnn.serving.server import serve

    serve(
        host=args.host,
        port=args.port,
        workers=args.workers,
        model=args.model,
        runtime=args.runtime,
        max_body_bytes=args.max_body_mb * 1_000_000,
        max_batch=args.max_batch,
        accept_all=args.accept_all,
    )
    return 0


HANDLERS = {
    "data": run_data,
    "models": run_models,
    "train": run_train,
    "tune": run_tune,
    "evaluate": run_evaluate,
    "predict": run_predict,
    "explain": run_explain,
    "export": run_export,
    "calibrate": run_calibrate,
    "interpolate": run_interpolate,
    "serve": run_serve,
}


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, except that a command's IMAGE arguments may also come after its options
    (``predict a.png --json b.png``), as with most command-line tools; anything else left over is an error."""
    args, extras = parser.parse_known_args(argv)
    if (
        extras
        and isinstance(getattr(args, "images", None), list)
        and not any(extra.startswith("-") and extra != "-" for extra in extras)
    ):
        args.images += extras
    elif extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


def main(argv: list[str] | None = None) -> int:
    from mnist_cnn.files import missing_folders, remove_empty_folders

    parser = build_parser()
    args = parse(parser, argv)
    quiet_libraries(args.verbose, needs_tensorflow=args.command in TENSORFLOW_COMMANDS)
    created = missing_folders(*output_folders(args))
    code = run_command(args)
    if code != 0:  # a failed command leaves no empty folder of its own making behind
        remove_empty_folders(created)
    return code


OUTPUT_FOLDER_OPTIONS = ("out", "explain", "save_preprocessed")


def output_folders(args) -> list[Path]:
    """The folders the command's options name to write into (--csv: its file's folder)."""
    folders = [getattr(args, name, None) for name in OUTPUT_FOLDER_OPTIONS]
    if getattr(args, "csv", None) is not None:
        folders.append(Path(args.csv).parent)
    return [Path(folder) for folder in folders if folder is not None]


def run_command(args) -> int:
    """Run the command's handler; a user's mistake or a failing disk becomes one line and exit code 2."""
    try:
        return HANDLERS[args.command](args)
    except MnistCnnError as error:
        return fail(str(error))
    except BrokenPipeError:  # the reader of stdout stopped (``| head -1``): stop quietly, as other tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would fail on the closed pipe again
        return EXIT_BROKEN_PIPE
    except OSError as error:  # the disk or the system failed where no check foresaw it: still one line
        return fail(f"{error.filename or 'a file'}: {error.strerror or error}")
    except KeyboardInterrupt:
        print(f"\n{interrupted_message(args.command)}", file=sys.stderr)
        return 130


def interrupted_message(command: str) -> str:
    """What stderr says when Ctrl-C stops ``command``: training and tuning continue on a rerun; the
    others have nothing to continue."""
    if command in ("train", "tune"):
        return "interrupted; rerun the same command to continue from the last finished epoch"
    return f"interrupted; {command} stopped"


if __name__ == "__main__":
    sys.exit(main())
