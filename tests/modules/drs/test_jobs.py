"""The DRS job runner's listing of the account's jobs: bounded by time, not by history."""

from __future__ import annotations

from typing import Any

from drorch.modules.base import AccountContext
from drorch.modules.drs import jobs


class Listed:
    """A DRS client whose DescribeJobs pages are recorded (and empty)."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "describe_jobs"
        outer = self

        class Pages:
            def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
                outer.asked.append(kwargs)
                return [{"items": []}]

        return Pages()


def test_the_account_listing_starts_at_the_given_moment():
    drs = Listed()
    assert jobs.describe_jobs(drs, since=1_800_000_000) == []
    assert jobs.describe_jobs(drs) == []
    assert drs.asked == [{"filters": {"fromDate": "2027-01-15T08:00:00Z"}}, {"filters": {}}]


def test_a_runner_with_batches_to_start_lists_the_last_week_of_jobs():
    drs = Listed()
    now = 1_800_000_000.0
    ctx = AccountContext(session=None, account_id="111111111111", region="us-east-2", now=now)
    state = jobs.new_runner_state(jobs.LAUNCH, "drill-1-web", jobs.Limits(), [["s-1", "s-2"]])
    runner = jobs.JobRunner(ctx, drs, state, starter=lambda drs, items, tags: None)
    runner.advance()
    (asked,) = drs.asked
    week_ago = now - jobs.JOB_LOOKBACK_SECONDS
    assert asked["filters"]["fromDate"] == "2027-01-08T08:00:00Z"
    assert week_ago == 1_799_395_200.0
