"""Campaigns: stages, a resumable SQLite result store, executors (in-process, process pool, Dask)."""

from dsei._lazy import lazy_package

# lazy (PEP 562): ``dsei --help`` imports this package (its cli.py) and must not load pymatgen, ASE or torch
_EXPORTS = {
    "CampaignRun": "dsei.campaign.pipeline",
    "Pipeline": "dsei.campaign.pipeline",
    "default_stages": "dsei.campaign.pipeline",
    "make_candidate": "dsei.campaign.pipeline",
    "ScreenResult": "dsei.campaign.screen",
    "screen": "dsei.campaign.screen",
    "STAGES": "dsei.campaign.stages",
    "Candidate": "dsei.campaign.stages",
    "Stage": "dsei.campaign.stages",
    "build_stage": "dsei.campaign.stages",
    "register_stage": "dsei.campaign.stages",
    "ResultStore": "dsei.campaign.store",
}

__all__ = sorted(_EXPORTS)

lazy_package(__name__, _EXPORTS)
