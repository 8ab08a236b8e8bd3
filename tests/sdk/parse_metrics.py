"""Parses OpenMetrics text (stdin) with the prometheus_client package's
parser and prints {family: {"type": t, "samples": [[name, labels, value]]}}
as JSON, so the SDK tests check Cairn's /api/metrics with a real parser."""
import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families

out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    out[fam.name] = {
        "type": fam.type,
        "samples": [[s.name, s.labels, s.value] for s in fam.samples],
    }
json.dump(out, sys.stdout)
