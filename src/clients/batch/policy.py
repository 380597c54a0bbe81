"""load_policy: policy file (+ extra rules file) -> text -> `PolicyRules` + hashes.

The text comes from `DocumentProcessor` (so a scanned PDF or a photo of the policy is
OCR'd). `--policy-rules` text is put before the policy text. With an LLM configured the LLM
reads the rules (falling back to the offline parser with a warning); otherwise the offline
parser does. An LLM's rules are cached under `.cache/policy/` by the text's hash and the
model, so a re-run neither re-asks the LLM nor risks a different reading.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from framework.config import Settings
from framework.errors import ConfigurationError
from framework.fileio import dumps_stable, sha256_text, write_json

from clients.batch.policy_llm import PROMPT_VERSION
from clients.batch.policy_parser import PARSER_NAME, parse_policy_text
from clients.batch.schemas import PolicyRules

log = logging.getLogger(__name__)


@dataclass
class LoadedPolicy:
    text: str
    rules: PolicyRules
    text_sha256: str
    policy_hash: str  # hash of the rules as parsed: what the decisions depend on
    source: str


def read_policy_text(path: Path, settings: Settings, *, use_cache: bool = True) -> str:
    from framework.documents import DocumentProcessor

    doc = DocumentProcessor(settings, ocr_enabled=True, cache_dir=None, use_cache=use_cache).extract(Path(path))
    if not doc.ok:
        error = doc.error
        raise ConfigurationError(
            f"cannot read the policy {path}: {getattr(error, 'code', None) or getattr(error, 'kind', '')}: "
            f"{getattr(error, 'message', error)}"
        )
    text = doc.text
    if not text.strip():
        raise ConfigurationError(f"the policy {path} has no readable text")
    return text


def rules_hash(rules: PolicyRules) -> str:
    data = rules.model_dump(mode="json", exclude={"warnings", "parser"})
    return sha256_text(dumps_stable(data))


def load_policy(
    policy_path: Path,
    settings: Settings,
    *,
    rules_path: Path | None = None,
    cache_dir: Path | None = None,
    llm: Any = None,
    llm_retries: int = 2,
    default_currency: str = "INR",
    force: bool = False,
) -> LoadedPolicy:
    parts: list[str] = []
    if rules_path is not None:
        parts.append(read_policy_text(rules_path, settings, use_cache=not force))
    parts.append(read_policy_text(policy_path, settings, use_cache=not force))
    text = "\n\n".join(p.strip() for p in parts) + "\n"
    text_hash = sha256_text(text)
    use_llm = llm is not None and not getattr(llm, "is_offline", True)
    reader = f"llm:{getattr(llm, 'model', '') or settings.llm_model or 'default'}" if use_llm else PARSER_NAME
    cache_file = None
    # only an LLM's reading is cached: it costs a call and may differ between calls; the
    # offline parser is instant and deterministic, and caching it would hide parser fixes
    if cache_dir is not None and use_llm:
        key = f"{text_hash}:{reader}:{default_currency}:prompt{PROMPT_VERSION}"
        cache_file = Path(cache_dir) / f"{sha256_text(key)[:32]}.json"
        if cache_file.exists() and not force:
            try:
                rules = PolicyRules.model_validate(json.loads(cache_file.read_text(encoding="utf-8")))
                log.info("policy rules reused from %s", cache_file)
                return LoadedPolicy(text, rules, text_hash, rules_hash(rules), str(policy_path))
            except (OSError, ValueError):
                pass
    rules = None
    cacheable = True
    if use_llm:
        from clients.batch.policy_llm import parse_policy_with_llm

        try:
            rules = parse_policy_with_llm(llm, text, retries=llm_retries)
        except Exception as exc:  # invalid answers after retries, provider errors: fall back
            message = f"the LLM could not read the policy ({exc}); used the offline parser instead"
            log.warning("%s", message)
            rules = parse_policy_text(text, default_currency=default_currency)
            rules.warnings.insert(0, message)
            cacheable = False  # ask the LLM again next run
    if rules is None:
        rules = parse_policy_text(text, default_currency=default_currency)
    if not rules.categories:
        rules.warnings.append("no expense categories were found in the policy: every bill will need review")
    for warning in rules.warnings:
        log.warning("policy: %s", warning)
    if cache_file is not None and cacheable:
        write_json(cache_file, rules.model_dump(mode="json"))
    return LoadedPolicy(text, rules, text_hash, rules_hash(rules), str(policy_path))
