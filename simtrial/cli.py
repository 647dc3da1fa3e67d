"""The ``simtrial`` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from simtrial._version import __version__
from simtrial.calibrate import calibrate
from simtrial.design import power_curve, sample_size, sweep
from simtrial.engine import run
from simtrial.patients import simulate_patients
from simtrial.recist import assess_patient
from simtrial.report import write_report
from simtrial.scenario import load_scenario, scenario_from_dict
from simtrial.teaching import chance, readers
from simtrial.validation import check_targets

__all__ = ["main", "example_patient"]


def example_patient() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A worked example: lung and nodal targets, a bone non-target, scans every 8 weeks.

    The sum falls 36% by week 16 (PR, confirmed at week 24); at week 32 it is only 27% below
    baseline but not PD, so the PR continues (EORTC RECIST FAQ); at week 40 it is 20% and more
    than 5 mm above its nadir: PD.

    Examples
    --------
    >>> lesions, visits = example_patient()
    >>> sorted(lesions["lesion"].unique())
    ['bone-1', 'lung-1', 'lung-2', 'node-1']
    """
    days = [0, 56, 112, 168, 224, 280]
    sizes = {
        ("lung-1", "lung", False): [24.0, 19.5, 15.2, 14.8, 17.5, 18.9],
        ("lung-2", "lung", False): [15.0, 12.1, 9.6, 9.0, 11.0, 11.8],
        ("node-1", "lymph node", True): [21.0, 16.4, 13.5, 13.1, 15.0, 15.9],
    }
    rows = [
        {"day": d, "lesion": name, "organ": organ, "nodal": nodal, "target": True, "size_mm": s}
        for (name, organ, nodal), series in sizes.items()
        for d, s in zip(days, series, strict=True)
    ]
    rows += [
        {"day": d, "lesion": "bone-1", "organ": "bone", "nodal": False, "target": False}
        for d in days
    ]
    lesions = pd.DataFrame(rows).sort_values(["day", "lesion"], ignore_index=True)
    visits = pd.DataFrame({"day": days[1:], "new_lesion": False, "nontarget": "NON_CR_NON_PD"})
    return lesions, visits


def _demo(args: argparse.Namespace) -> int:
    lesions, visits = example_patient()
    print("Worked example: one patient, three target lesions and a bone non-target lesion,")
    print("scanned every 8 weeks. Measurements (mm):\n")
    wide = lesions[lesions["target"]].pivot(index="day", columns="lesion", values="size_mm")
    print(wide.to_string(float_format=lambda x: f"{x:.1f}"), "\n")
    for confirm in (False, True):
        result = assess_patient(lesions, visits, confirm=confirm)
        print(f"--- confirmation {'required (>= 28 days)' if confirm else 'not required'}")
        print(result, "\n")
    return 0


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    arms = ", ".join(f"{arm.name} (n={arm.n})" for arm in scenario.arms)
    print(
        f"{args.scenario}: valid — {scenario.study.name}; arms: {arms}; {scenario.study.criteria}"
    )
    return 0


def _patients(args: argparse.Namespace) -> int:
    result = simulate_patients(load_scenario(args.scenario), args.n_reps, rng=args.seed)
    table = result.to_frame()
    if args.format == "csv":
        table.to_csv(sys.stdout, index=False)
    else:
        columns = [
            "rep",
            "patient",
            "arm",
            "histology",
            "n_targets",
            "baseline_sum_mm",
            "bor",
            "pd_day",
            "best_pct_change",
            "tg_change_4wk",
            "final_dose_mg",
            "dose_reductions",
            "ae_discontinuation",
        ]
        with pd.option_context("display.width", 200, "display.max_rows", 500):
            print(table[columns].to_string(index=False, float_format=lambda x: f"{x:.1f}"))
    return 0


def _format_summary(result) -> str:
    summary = result.summary()
    lines = [
        f"{result.scenario.study.name}: {result.n_sims} simulated trials, seed {result.seed}",
        f"{'metric':<34} {'mean':>10} {'MC s.e.':>9} {'2.5%':>10} {'97.5%':>10} {'published':>10}",
    ]
    for metric, row in summary.iterrows():
        published = "" if np.isnan(row["published"]) else f"{row['published']:10.4g}"
        partial = row["n_finite"] < result.n_sims
        note = f"  (defined in {int(row['n_finite'])} of {result.n_sims} trials)" if partial else ""
        lines.append(
            f"{metric:<34} {row['mean']:10.4g} {row['se']:9.2g} {row['q025']:10.4g} "
            f"{row['q975']:10.4g} {published:>10}{note}"
        )
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    result = run(
        args.scenario,
        args.n_sims,
        seed=args.seed,
        chunk_size=args.chunk_size,
        workers=args.workers,
        out=args.out,
        resume=args.resume,
        keep_patients=args.keep_patients,
        progress=False if args.quiet else None,
        engine=args.engine,
    )
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=2))
    elif args.format == "csv":
        result.summary().to_csv(sys.stdout)
    else:
        print(_format_summary(result))
    return 0


def _integer(minimum: int):
    """An argparse type: an integer of at least ``minimum``, named in the error."""
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if minimum == 0:
        kind = "a non-negative integer"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be {kind}, got {text!r}")
        return value

    return parse


_positive_int = _integer(1)
_seed = _integer(0)


def _grid(text: str) -> list[int]:
    """``50:300:25`` (start:stop:step, stop included) or ``100,150,267``."""
    try:
        if ":" in text:
            start, stop, step = (int(part) for part in text.split(":"))
            if step < 1 or stop < start:
                raise ValueError
            return list(range(start, stop + 1, step))
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be start:stop:step or a comma-separated list of integers, got {text!r}"
        ) from None


def _setting(text: str) -> tuple[str, list]:
    """``key.path=v1,v2,v3`` with values read as TOML scalars (numbers, true/false, strings)."""
    key, sep, values = text.partition("=")
    if not sep or not key or not values:
        raise argparse.ArgumentTypeError(f"must be key.path=value1,value2,..., got {text!r}")
    parsed = []
    for value in values.split(","):
        try:
            parsed.append(tomllib.loads(f"v = {value}")["v"])
        except tomllib.TOMLDecodeError:
            parsed.append(value)
    return key, parsed


def _print_frame(frame: pd.DataFrame, form: str) -> None:
    if form == "json":
        print(frame.to_json(orient="records", indent=2))
    elif form == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print(frame.to_string(index=False, float_format=lambda x: f"{x:.4g}"))


def _power(args: argparse.Namespace) -> int:
    if (args.n_per_arm is None) == (args.events is None):
        raise ValueError("give exactly one of --n-per-arm and --events")
    common = dict(
        n_sims=args.n_sims,
        seed=args.seed,
        alpha=args.alpha,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    if args.target_power is not None and args.n_per_arm is not None:
        answer = sample_size(
            args.scenario, target_power=args.target_power, n_per_arm=args.n_per_arm, **common
        )
        _print_frame(answer.curve.frame, args.format)
        if args.format == "table":
            print(
                f"\nfor {args.target_power:.0%} power (simulated hazard ratio "
                f"{answer.hazard_ratio:.3f}), patients per arm:"
            )
            print(answer.to_frame().to_string(index=False, float_format=lambda x: f"{x:.1f}"))
            print(f"simulation: {answer.n_per_arm:.1f} +/- {answer.se:.1f} (Monte-Carlo s.e.)")
        return 0
    curve = power_curve(args.scenario, n_per_arm=args.n_per_arm, events=args.events, **common)
    _print_frame(curve.frame, args.format)
    return 0


def _sweep(args: argparse.Namespace) -> int:
    key, values = args.set
    table = sweep(
        args.scenario,
        key,
        values,
        n_sims=args.n_sims,
        seed=args.seed,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    if args.metrics:
        wanted = args.metrics.split(",")
        unknown = sorted(set(wanted) - set(table["metric"]))
        if unknown:
            raise ValueError(f"--metrics: unknown metric(s) {unknown}")
        table = table[table["metric"].isin(wanted)]
    _print_frame(table, args.format)
    return 0


def _chance(args: argparse.Namespace) -> int:
    result = chance(
        args.scenario,
        args.n_sims,
        seed=args.seed,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    if args.format == "table":
        print(result.summary())
        print("\nprobability of each count:")
        print(result.distribution.to_string(float_format=lambda x: f"{x:.3f}"))
    else:
        frame = result.distribution.reset_index()
        _print_frame(frame, args.format)
    return 0


def _readers(args: argparse.Namespace) -> int:
    result = readers(args.scenario, args.readers, n_patients=args.patients, seed=args.seed)
    if args.format == "table":
        print(result.summary())
    else:
        _print_frame(result.best, args.format)
    return 0


def _validate_targets(args: argparse.Namespace) -> int:
    result = run(
        args.scenario,
        args.n_sims,
        seed=args.seed,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    table = check_targets(result)
    if args.format == "table":
        print(
            f"{result.scenario.study.name}: {result.n_sims} simulated cohorts of the published "
            f"size, seed {result.seed}; {int(table['met'].sum())} of {len(table)} targets met"
        )
        shown = table.assign(
            target=np.where(table["met"], "met", "NOT MET"),
            interval=[
                f"{a:.4g} - {b:.4g}" for a, b in zip(table["q025"], table["q975"], strict=True)
            ],
        )[["metric", "published", "tolerance", "mean", "se", "interval", "target", "status"]]
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}", na_rep=""))
    else:
        _print_frame(table, args.format)
    return 0


def _bounds(text: str) -> tuple[str, tuple[float, float]]:
    """``key.path=low:high``."""
    key, sep, span = text.partition("=")
    try:
        low, high = (float(part) for part in span.split(":"))
    except ValueError:
        low = high = None
    if not sep or not key or low is None:
        raise argparse.ArgumentTypeError(f"must be key.path=low:high, got {text!r}")
    return key, (low, high)


def _calibration_targets(scenario_path: str, targets: str | None):
    """The scenario, and the target names: a comma list, or a targets TOML file whose
    ``[targets."name"]`` tables replace the scenario's."""
    scenario = load_scenario(scenario_path)
    if targets is None:
        return scenario, None
    if targets.endswith(".toml"):
        try:
            with open(targets, "rb") as handle:
                table = tomllib.load(handle).get("targets", {})
        except FileNotFoundError:
            raise ValueError(f"{targets}: no such targets file") from None
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{targets}: not valid TOML: {error}") from None
        if not table:
            raise ValueError(f'{targets}: no [targets."metric"] tables')
        data = scenario.model_dump()
        data["targets"] = table
        return scenario_from_dict(data, origin=targets), list(table)
    return scenario, targets.split(",")


def _calibrate(args: argparse.Namespace) -> int:
    scenario, names = _calibration_targets(args.scenario, args.targets)
    fit = calibrate(
        scenario,
        dict(args.free),
        targets=names,
        n_sims=args.n_sims,
        seed=args.seed,
        workers=args.workers,
        max_evaluations=args.max_evaluations,
        progress=False if args.quiet else None,
    )
    print(f"loss {fit.start_loss:.3g} -> {fit.loss:.3g} in {fit.evaluations} evaluations")
    print(fit.to_toml())
    table = fit.targets[fit.targets["metric"].isin(fit.fitted_to)]
    print(table[["metric", "published", "tolerance", "mean", "met"]].to_string(index=False))
    if args.out:
        report = table.to_string(index=False).splitlines()
        lines = [
            fit.to_toml(),
            f"# loss {fit.start_loss:.4g} -> {fit.loss:.4g} in "
            f"{fit.evaluations} evaluations, {args.n_sims} trials each, seed {args.seed}",
        ]
        Path(args.out).write_text("\n".join(lines + [f"# {line}" for line in report]) + "\n")
        print(f"wrote {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    path = write_report(
        args.scenario,
        args.out,
        n_sims=args.n_sims,
        seed=args.seed,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    print(f"wrote {path}")
    return 0


def _simulation_options(command: argparse.ArgumentParser, n_sims: int) -> None:
    """The options every simulating command shares."""
    command.add_argument(
        "--n-sims", type=_positive_int, default=n_sims, help=f"simulations (default {n_sims})"
    )
    command.add_argument("--seed", type=_seed, default=None, help="root seed (default: random)")
    command.add_argument("--workers", type=_positive_int, default=1, help="local processes")
    command.add_argument("--format", choices=["table", "json", "csv"], default="table")
    command.add_argument("--quiet", action="store_true", help="no progress bar")


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line on standard error and exit code 2, no usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="simtrial", description="Monte-Carlo simulation of oncology cohorts and trials."
    )
    parser.add_argument("--version", action="version", version=f"simtrial {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = commands.add_parser("demo", help="classify a worked example patient by RECIST 1.1")
    demo.set_defaults(handler=_demo)
    validate = commands.add_parser("validate", help="check a scenario file (exit 2 if invalid)")
    validate.add_argument("scenario", help="path of a scenario TOML file")
    validate.set_defaults(handler=_validate)
    patients = commands.add_parser(
        "patients", help="simulate cohorts and print one row per patient"
    )
    patients.add_argument("scenario", help="path of a scenario TOML file")
    patients.add_argument("--n-reps", type=_positive_int, default=1, help="cohorts (default 1)")
    patients.add_argument("--seed", type=_seed, default=None, help="root seed (default: random)")
    patients.add_argument("--format", choices=["table", "csv"], default="table")
    patients.set_defaults(handler=_patients)

    runner = commands.add_parser(
        "run", help="simulate many trials and summarise every metric (mean, MC error, 95%)"
    )
    runner.add_argument("scenario", help="path of a scenario TOML file")
    _simulation_options(runner, 1000)
    runner.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=None,
        help="trials per chunk (default 100; 2 with --engine des)",
    )
    runner.add_argument("--out", default=None, help="folder for resumable chunk files")
    runner.add_argument("--resume", action="store_true", help="finish the run in --out")
    runner.add_argument(
        "--keep-patients",
        type=_integer(0),
        default=0,
        help="keep patient tables of the first K trials",
    )
    runner.add_argument(
        "--engine",
        choices=["vectorised", "des"],
        default="vectorised",
        help="vectorised (fast, default) or des: the discrete-event model, ~1 s per "
        "DECISION-sized trial, for checking and for the scenario's [operations]",
    )
    runner.set_defaults(handler=_run)

    power = commands.add_parser(
        "power", help="power curve (and sample size) by simulation, common random numbers"
    )
    power.add_argument("scenario", help="path of a two-arm scenario TOML file")
    power.add_argument("--n-per-arm", type=_grid, default=None, help="e.g. 50:300:25 or 100,200")
    power.add_argument("--events", type=_grid, default=None, help="PFS events, e.g. 150:300:50")
    power.add_argument("--target-power", type=float, default=None, help="search n for this power")
    power.add_argument("--alpha", type=float, default=0.05, help="two-sided level (0.05)")
    _simulation_options(power, 1000)
    power.set_defaults(handler=_power)

    sweeper = commands.add_parser("sweep", help="every metric at each value of one parameter")
    sweeper.add_argument("scenario", help="path of a scenario TOML file")
    sweeper.add_argument(
        "--set",
        type=_setting,
        required=True,
        help="key.path=v1,v2,... e.g. imaging.interval_days=56,84",
    )
    sweeper.add_argument("--metrics", default=None, help="comma-separated metric names to keep")
    _simulation_options(sweeper, 500)
    sweeper.set_defaults(handler=_sweep)

    luck = commands.add_parser(
        "chance", help="how often a small cohort gives each best-response count (teaching)"
    )
    luck.add_argument("scenario", help="path of a one-arm scenario TOML file")
    _simulation_options(luck, 2000)
    luck.set_defaults(handler=_chance)

    panel = commands.add_parser(
        "readers", help="the same scans read by several simulated readers (teaching)"
    )
    panel.add_argument("scenario", help="path of a scenario TOML file")
    panel.add_argument("--readers", type=_integer(2), default=5, help="readers (default 5)")
    panel.add_argument("--patients", type=_positive_int, default=None, help="patients to read")
    panel.add_argument("--seed", type=_seed, default=None)
    panel.add_argument(
        "--format",
        choices=["table", "json", "csv"],
        default="table",
        help="table: the summary; json/csv: best response by reader",
    )
    panel.set_defaults(handler=_readers)

    targets = commands.add_parser(
        "validate-targets", help="published targets against the simulation: met / not met"
    )
    targets.add_argument("scenario", help="path of a scenario TOML file")
    _simulation_options(targets, 2000)
    targets.set_defaults(handler=_validate_targets)

    fitter = commands.add_parser(
        "calibrate", help="fit free parameters to the scenario's published targets"
    )
    fitter.add_argument("scenario", help="path of a scenario TOML file")
    fitter.add_argument(
        "--free",
        type=_bounds,
        action="append",
        required=True,
        help="key.path=low:high (repeat for each parameter)",
    )
    fitter.add_argument(
        "--targets",
        default=None,
        help="comma-separated target names, or a targets TOML file (default: all the scenario's)",
    )
    fitter.add_argument("--max-evaluations", type=_positive_int, default=200)
    fitter.add_argument("--out", default=None, help="write the fitted values and the fit report")
    _simulation_options(fitter, 200)
    fitter.set_defaults(handler=_calibrate)

    report = commands.add_parser(
        "report", help="one self-contained HTML report: targets, metrics and figures"
    )
    report.add_argument("scenario", help="path of a scenario TOML file")
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--n-sims", type=_positive_int, default=500, help="trials (default 500)")
    report.add_argument("--seed", type=_seed, default=2014, help="root seed (default 2014)")
    report.add_argument("--workers", type=_positive_int, default=1, help="local processes")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    report.set_defaults(handler=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # the reader went away (`| head`): not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except (ValueError, TypeError, OSError) as error:
        print(f"simtrial {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"simtrial {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
