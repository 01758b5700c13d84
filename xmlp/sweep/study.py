"""The Optuna study and its storage: the sampler and pruner a sweep's definition names, the
RDB storage with heartbeats (stale trials failed and queued again), opening a study and
checking that it holds this sweep, how many trials are still to run, recording each
trial's result, and the folder beside the storage where trials keep their checkpoints."""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.trial import TrialState

from ..io import probe_writable

_ATTR = "xmlp_sweep"  # user attribute: the sweep's definition (study), the result (trial)


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, minus its ``study.stop()`` when the grid is exhausted: that
    request is for ``Study.optimize``; here the driver counts the grid points itself."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def _sampler(definition: dict, seed: int):
    if definition["search"] == "grid":
        return _GridSampler(definition["grid"], seed=seed)
    if definition["search"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # Constant liar (Optuna's default since 5.0, asked for by name): a trial asked while
    # others run -- a pack's K trials are asked before any is told -- avoids their settings.
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def _pruner(name: str, max_epochs: int):
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs,
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()


@contextmanager
def _quiet_experimental():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


#: Seconds a database server (PostgreSQL, MySQL) has to answer before the sweep gives up.
CONNECT_TIMEOUT = 10
SQLITE_MAGIC = b"SQLite format 3\x00"


def _engine_kwargs(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several processes write one SQLite file: wait for its lock instead of failing.
        return {"connect_args": {"timeout": 60}}
    if url.startswith(("postgresql", "mysql", "mariadb")):  # their drivers' keyword
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}}
    return {}


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL (sqlite:///relative or sqlite:////absolute), else None."""
    if not url.startswith("sqlite:///"):
        return None
    name = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if name in ("", ":memory:") else Path(name)


def check_storage(url: str) -> None:
    """Refuse, in one line each, an SQLite storage whose folder is missing or takes no new
    file, or whose file is something other than an SQLite database -- before any trial
    runs.  (Servers are checked when the storage opens, within ``CONNECT_TIMEOUT``.)"""
    if not isinstance(url, str):
        raise TypeError(f"storage must be an Optuna storage URL, got {url!r}")
    path = _sqlite_file(url)
    if path is None:
        return
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"storage {url}: folder {folder} does not exist; create it or give "
                         "another storage")
    if path.is_dir():
        raise ValueError(f"storage {url}: {path} is a directory, not an SQLite database file")
    if path.exists():
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head and head != SQLITE_MAGIC:
            raise ValueError(f"storage {url}: {path} is not an SQLite database (it holds "
                             "something else); give another storage path")
        return
    try:
        probe_writable(folder, path.name)
    except OSError as exc:
        raise ValueError(f"storage {url}: cannot create a file in {folder} "
                         f"({exc.strerror or exc}); give another storage") from None


@contextmanager
def storage_errors(url: str):
    """SQLAlchemy's and Optuna's errors on opening a storage, as one ``ValueError`` that
    says what to do (a missing driver, a server that does not answer, a damaged file)."""
    import sqlalchemy.exc

    try:
        yield
    except ImportError as exc:
        driver = {"postgresql": "pip install 'psycopg[binary]'",
                  "mysql": "pip install pymysql"}.get(url.split(":", 1)[0].split("+")[0],
                                                      "install the database's driver")
        raise ValueError(f"storage {url}: its database driver is not installed ({exc}); "
                         f"{driver}") from exc
    except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError,
            RuntimeError) as exc:
        reason = getattr(exc, "orig", None) or exc
        reason = " ".join(str(reason).split("(Background on this error")[0].split())
        fix = ("if the file is damaged, move it away (its trials are lost) or give another "
               "storage" if _sqlite_file(url) else
               f"check the URL and that the server runs and answers (within "
               f"{CONNECT_TIMEOUT} s)")
        raise ValueError(f"storage {url}: cannot use it ({reason}); {fix}") from exc


def _rdb_storage(url: str, heartbeat: float) -> optuna.storages.RDBStorage:
    """The driver's storage: heartbeats for running trials, stale ones failed and retried."""
    check_storage(url)
    with storage_errors(url), _quiet_experimental():
        return optuna.storages.RDBStorage(
            url, engine_kwargs=_engine_kwargs(url),
            # optuna annotates these seconds as int; it computes with any number of them
            heartbeat_interval=heartbeat,  # type: ignore[arg-type]
            grace_period=3 * heartbeat,  # type: ignore[arg-type]
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=3, inherit_intermediate_values=True))


def _open_study(rdb, name: str, definition: dict, trials: int | None) -> optuna.Study:
    seed = int(definition["network"].get("seed") or 0)
    with storage_errors(rdb.url), _quiet_experimental():
        study = optuna.create_study(
            storage=rdb, study_name=name, direction=definition["direction"],
            sampler=_sampler(definition, seed),
            pruner=_pruner(definition["prune"], definition["max_epochs"]), load_if_exists=True)
    stored = study.user_attrs.get(_ATTR)
    if stored is None:
        study.set_user_attr(_ATTR, definition)
    elif stored != definition:
        diff = sorted(k for k in {**stored, **definition} if stored.get(k) != definition.get(k))
        raise ValueError(f"study {name!r} in this storage holds another sweep (it differs in "
                         f"{', '.join(diff)}); give another study name or storage")
    return study


def _recover(study: optuna.Study, rdb, heartbeat: float, say) -> None:
    """Fail the trials a killed sweep left running (Optuna's heartbeat check) and let its
    retry callback queue them again; wait while a live sweep's heartbeats may still come.

    Optuna never counts a running trial without any heartbeat as stale, and a sweep killed
    between creating a trial and its first heartbeat leaves one; so every trial still
    running gets one heartbeat here: a live sweep keeps renewing it, a dead one's goes
    stale after the grace period like any other."""
    with _quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return
    for t in running:
        rdb.record_heartbeat(t._trial_id)
    grace = 3 * heartbeat
    wait = grace + heartbeat + 1.5  # SQLite's clock has whole seconds
    say(f"{len(running)} trial(s) of study {study.study_name!r} are marked running; waiting "
        f"up to {wait:.0f} s for their heartbeats to go stale (a killed sweep) or for them "
        f"to finish (a sweep still running elsewhere)")
    deadline = time.monotonic() + wait
    while running and time.monotonic() < deadline:
        time.sleep(min(1.0, heartbeat / 2))
        with _quiet_experimental():
            optuna.storages.fail_stale_trials(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if running:
        say(f"{len(running)} trial(s) still have live heartbeats: another sweep runs them")


def _outstanding(study: optuna.Study, definition: dict, n_total: int) -> int:
    """How many more trials to ask for: queued retries plus what the target still lacks."""
    trials = study.get_trials(deepcopy=False)
    superseded = _superseded(trials)
    live = [t for t in trials if t.number not in superseded]
    waiting = sum(t.state == TrialState.WAITING for t in live)
    if definition["search"] == "grid":
        grid = definition["grid"]
        covered = {t.system_attrs["grid_id"] for t in live if "grid_id" in t.system_attrs
                   and t.system_attrs.get("search_space") == {k: grid[k] for k in
                                                               sorted(grid)}}
        return waiting + max(0, n_total - len(covered))
    return waiting + max(0, n_total - len(live))


def _superseded(trials) -> set[int]:
    """Numbers of failed trials that a retry replaced (Optuna's retry history)."""
    out = set()
    for t in trials:
        out.update(t.system_attrs.get("retry_history", []))
    return {n for n in out if n < len(trials) and trials[n].state == TrialState.FAIL
            and not trials[n].user_attrs.get(_ATTR, {}).get("error")}


def _tell(study, trial, result: dict, say) -> None:
    state = result["state"]
    keys = ("metrics", "epochs", "stop_reason", "seconds", "history", "evaluation",
            "resumed_from", "error", "pack")
    # One attribute, one write: with SQLite every write is a commit.
    trial.set_user_attr(_ATTR, {k: result[k] for k in keys if result.get(k) is not None})
    try:
        if state == "complete":
            study.tell(trial, result["value"])
        elif state == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
    except (ValueError, RuntimeError) as exc:  # another sweep failed it as stale meanwhile
        say(f"trial {trial.number}: could not record its result ({exc})")


def _abandon(study, client, futures, trials) -> None:
    """Interrupted: stop the running trials and queue them again (Optuna's retry callback),
    so that the next run of the sweep takes them up at once.  ``trials``: those of the
    running ``futures`` and those asked but not yet submitted (a pack still filling)."""
    if not trials:
        return
    try:
        client.cancel(list(futures))
    except Exception:  # noqa: BLE001 - the cluster may be gone already
        pass
    retry = study._storage.get_heartbeat_stale_trial_callback()
    for trial in trials:
        try:
            frozen = study.tell(trial, state=TrialState.FAIL)
            if retry is not None:
                with _quiet_experimental():
                    retry(study, frozen)
        except Exception:  # noqa: BLE001 - recorded already (a pruned pack member), or
            pass  # the next run's heartbeat check catches it


def _default_checkpoints(storage: str, study: str) -> Path:
    if storage.startswith("sqlite:///") and storage != "sqlite:///:memory:":
        db = Path(storage.removeprefix("sqlite:///"))
        return db.with_name(db.stem + "-checkpoints") / study
    return Path("sweep-checkpoints").resolve() / study
