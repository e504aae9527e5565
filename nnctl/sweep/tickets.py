"""The trial budget as tickets, so that any number of workers on any number of machines run exactly the
planned trials, none twice.

A study planned for N trials holds tickets 0 .. N-1. A ticket is a queued (WAITING) Optuna trial with the
user attribute `ticket: k`; a worker takes the oldest queued trial (the database makes that step atomic:
a row lock in PostgreSQL, an immediate transaction in SQLite) and runs it only if it holds a ticket. For
`grid`, ticket k carries grid point k (the grid shuffled by the sweep's seed) as fixed parameters; otherwise
its parameters are drawn when it starts, from everything finished by then.

A trial that ends without a result of its own gives its ticket back: a retry is queued with the same
parameters that continues the same run folder (`resume`). That happens when a trial is interrupted
(Ctrl-C, SIGTERM) and, once, when its worker is killed (kill -9, the machine lost): a trial whose worker
was killed twice stays failed. Should two processes ever queue the same ticket (two machines topping up
the budget at the same moment), the lower trial number keeps it and the other is voided when taken
(state FAIL, status `void`), without running.
"""

from __future__ import annotations

import sys

import numpy as np

GIVEN_BACK = ("interrupted", "void")     # statuses of failed trials whose ticket went back to the queue


def holds_ticket(trial) -> bool:
    """Does this trial (an optuna FrozenTrial) count against its ticket? Queued, running and finished
    trials do; a voided or interrupted one does not, nor a killed one that may still be retried."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    if trial.state != TrialState.FAIL:
        return True
    status = trial.user_attrs.get("status", "killed")       # a trial failed by the heartbeat check has none
    if status in GIVEN_BACK:
        return False
    if status == "killed":
        return trial.user_attrs.get("kills", 0) >= 1
    return True


def issue(study, budget: int, grid: list[dict] | None, seed: int) -> int:
    """Queue the tickets among 0 .. budget-1 that no trial holds; returns how many were queued."""
    held = {t.user_attrs["ticket"] for t in study.get_trials(deepcopy=False)
            if "ticket" in t.user_attrs and holds_ticket(t)}
    order = np.random.default_rng(seed).permutation(len(grid)) if grid else None
    missing = [k for k in range(budget) if k not in held]
    for k in missing:
        params = grid[int(order[k])] if grid else {}
        study.enqueue_trial(params, user_attrs={"ticket": k})
    study.set_user_attr("trials", max(budget, study.user_attrs.get("trials", 0)))
    return len(missing)


def waiting(study) -> int:
    """How many queued trials the study has."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def claim(study, trial) -> dict | None:
    """The ticket attributes of a trial a worker just took (an optuna Trial, now RUNNING), or None after
    voiding it: it holds no ticket (the queue ran dry meanwhile), or a lower trial holds the same one."""
    attrs = trial.user_attrs
    if "ticket" not in attrs:
        void(study, trial, "no ticket: every planned trial was taken meanwhile")
        return None
    for other in study.get_trials(deepcopy=False):
        if other.number < trial.number and other.user_attrs.get("ticket") == attrs["ticket"] \
                and holds_ticket(other):
            void(study, trial, f"ticket {attrs['ticket']} is held by trial {other.number}")
            return None
    return attrs


def void(study, trial, why: str) -> None:
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    trial.set_user_attr("status", "void")
    trial.set_user_attr("message", why)
    study.tell(trial, state=TrialState.FAIL)


def give_back(study, failed) -> int | None:
    """Queue a retry of a trial that just failed without a result of its own (an optuna FrozenTrial in
    state FAIL whose status is interrupted or killed): same ticket, same parameters, same run folder.
    Returns the ticket, or None when the trial was killed before and is not retried again."""
    attrs = failed.user_attrs
    if "ticket" not in attrs or holds_ticket(failed):
        return None
    kills = attrs.get("kills", 0) + (attrs.get("status", "killed") == "killed")
    retry = {"ticket": attrs["ticket"], "retry_of": failed.number, "kills": kills}
    if "run" in attrs:
        retry["run"] = attrs["run"]
    study.enqueue_trial(dict(failed.params), user_attrs=retry)
    return attrs["ticket"]


def on_stale(study, failed) -> None:
    """Optuna's callback for a trial whose worker stopped sending heartbeats (marked FAIL by whichever
    process noticed): retry it once."""
    if give_back(study, failed) is not None:
        print(f"trial {failed.number}: its worker stopped sending heartbeats; queued again to continue "
              f"{failed.user_attrs.get('run', 'from the start')}", file=sys.stderr, flush=True)
