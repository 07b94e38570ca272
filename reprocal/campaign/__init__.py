"""Campaigns: one command over many observations of a manifest, each run as ``reprocal run``
runs one (its own CIF, a provenance record, FITS stamping), on Dask distributed, with a ledger
that makes a campaign resumable.

May import :mod:`reprocal.provenance` and everything below it. Dask (``distributed``) and
dask-jobqueue are imported only when a campaign runs (the ``reprocal[campaign]`` extra):
importing this package, or reading a campaign's status, needs neither.
"""

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
