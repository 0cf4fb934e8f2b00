"""OTLP in and out: decode OTLP/HTTP trace requests (decode.py), map foreign GenAI conventions
(translators.py), store the spans (convert.py, ingest.py); export evaltrace's own spans over
OTLP (export.py). Needs ``opentelemetry-proto`` (``pip install 'evaltrace[otlp]'``)."""
