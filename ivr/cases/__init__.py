"""Case intake helpers: classify a request, extract its contact details, draft a case.

load_taxonomy(path) -> Taxonomy            the office-editable taxonomy.toml, validated
classify(text, taxonomy, repeat_caller=)   category, department, priority (pure)
extract_phone(text), extract_address(text) contact details, None when absent
case_draft(text, taxonomy, repeat_caller=) all of the above as one suggestion
"""

from ivr.cases.classify import Classification, classify
from ivr.cases.draft import CaseDraftSuggestion, case_draft
from ivr.cases.extract import extract_address, extract_phone
from ivr.cases.taxonomy import DEFAULT_TAXONOMY_PATH, Taxonomy, load_taxonomy

__all__ = [
    "DEFAULT_TAXONOMY_PATH",
    "CaseDraftSuggestion",
    "Classification",
    "Taxonomy",
    "case_draft",
    "classify",
    "extract_address",
    "extract_phone",
    "load_taxonomy",
]
