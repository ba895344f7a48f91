"""Reading, validation, fingerprints and the built-in phase library."""

from dsei.structures.fingerprint import fingerprint
from dsei.structures.io import load_structure, read_structure
from dsei.structures.library import Library, LibraryEntry, get_library
from dsei.structures.validate import analyze_bulk, bulk_problem, prepare, validate_structure

__all__ = [
    "Library", "LibraryEntry", "analyze_bulk", "bulk_problem", "fingerprint", "get_library", "load_structure", "prepare",
    "read_structure",
    "validate_structure",
]
