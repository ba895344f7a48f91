"""Campaigns: stages, a resumable SQLite result store, executors (in-process, process pool, Dask)."""

from dsei.campaign.pipeline import CampaignRun, Pipeline, default_stages, make_candidate
from dsei.campaign.screen import ScreenResult, screen
from dsei.campaign.stages import STAGES, Candidate, Stage, build_stage, register_stage
from dsei.campaign.store import ResultStore

__all__ = ["STAGES", "CampaignRun", "Candidate", "Pipeline", "ResultStore", "ScreenResult", "Stage", "build_stage", "default_stages", "make_candidate", "register_stage", "screen"]
