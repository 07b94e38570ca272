"""Campaigns: one command over many observations of a manifest, each run as ``reprocal run``
runs one (its own CIF, a provenance record, FITS stamping), on Dask distributed, with a ledger
that makes a campaign resumable.

May import :mod:`reprocal.provenance` and everything below it. Dask (``distributed``) and
dask-jobqueue are imported only when a campaign runs (the ``reprocal[campaign]`` extra):
importing this package, or reading a campaign's status, needs neither.
"""

from typing import TYPE_CHECKING

from reprocal._lazy import exports

_EXPORTS = {
    "CampaignReport": "reprocal.campaign._campaign",
    "CampaignStatus": "reprocal.campaign._status",
    "ClusterConfig": "reprocal.campaign._cluster",
    "Entry": "reprocal.campaign._ledger",
    "LEVELS": "reprocal.campaign._products",
    "Layout": "reprocal.campaign._products",
    "Ledger": "reprocal.campaign._ledger",
    "Output": "reprocal.campaign._ledger",
    "PLACEHOLDERS": "reprocal.campaign._plan",
    "RetryPolicy": "reprocal.campaign._engine",
    "Task": "reprocal.campaign._plan",
    "TaskFailed": "reprocal.campaign._task",
    "TaskOutcome": "reprocal.campaign._task",
    "TaskSpec": "reprocal.campaign._task",
    "TaskState": "reprocal.campaign._status",
    "campaign_status": "reprocal.campaign._status",
    "job_script": "reprocal.campaign._cluster",
    "load_cluster": "reprocal.campaign._cluster",
    "plan": "reprocal.campaign._plan",
    "resume_campaign": "reprocal.campaign._campaign",
    "run_campaign": "reprocal.campaign._campaign",
    "run_task": "reprocal.campaign._task",
    "summary_document": "reprocal.campaign._summary",
    "summary_table": "reprocal.campaign._summary",
    "task_key": "reprocal.campaign._plan",
    "write_summary": "reprocal.campaign._summary",
}

__getattr__, __dir__ = exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from reprocal.campaign._campaign import CampaignReport, resume_campaign, run_campaign
    from reprocal.campaign._cluster import ClusterConfig, job_script, load_cluster
    from reprocal.campaign._engine import RetryPolicy
    from reprocal.campaign._ledger import Entry, Ledger, Output
    from reprocal.campaign._plan import PLACEHOLDERS, Task, plan, task_key
    from reprocal.campaign._products import LEVELS, Layout
    from reprocal.campaign._status import CampaignStatus, TaskState, campaign_status
    from reprocal.campaign._summary import summary_document, summary_table, write_summary
    from reprocal.campaign._task import TaskFailed, TaskOutcome, TaskSpec, run_task

__all__ = [
    "CampaignReport", "CampaignStatus", "ClusterConfig", "Entry", "LEVELS", "Layout", "Ledger",
    "Output", "PLACEHOLDERS", "RetryPolicy", "Task", "TaskFailed", "TaskOutcome", "TaskSpec",
    "TaskState", "campaign_status", "job_script", "load_cluster", "plan", "resume_campaign",
    "run_campaign",
    "run_task", "summary_document", "summary_table", "task_key", "write_summary",
]
