"""`python -m bench.klarolabels TRANSLATIONS_DIR COMMIT`: the consent-control labels of Klaro, an
open-source consent manager (klaro-org/klaro-js, BSD-3-Clause), in every language it is
translated into, written to tests/data/klaro-consent-labels.json.

Klaro's translations are a maintained, outside record of what consent banners' buttons say:
`tests/test_consent_lexicon.py` checks that our control lexicon (consent-controls.txt) recognises
every "accept all", "accept selected" and "decline" label in it. Run again against a newer Klaro
checkout (its `src/translations/`) to bring the record up to date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

KEYS = ("acceptAll", "acceptSelected", "decline")
TARGET = Path(__file__).parent.parent / "tests" / "data" / "klaro-consent-labels.json"


def labels(folder: Path) -> dict[str, dict[str, str]]:
    """{language: {key: label}} of every translation file that has any of KEYS."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.yml")):
        if path.stem.endswith(".ref"):
            continue
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        chosen = {key: str(data[key]).strip() for key in KEYS if str(data.get(key) or "").strip()}
        if chosen:
            found[path.stem] = chosen
    return found


def main(argv: list[str]) -> int:
    folder, commit = Path(argv[0]), argv[1]
    record = {
        "source": "https://github.com/klaro-org/klaro-js/tree/master/src/translations",
        "commit": commit,
        "license": "BSD-3-Clause, (c) KIProtect GmbH and Klaro's contributors",
        "labels": labels(folder),
    }
    TARGET.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(record['labels'])} languages written to {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
