from __future__ import annotations

from prahari_cases.config import Settings
from prahari_cases.entrypoints.http import create_app
from prahari_events.runtime import serve
from prahari_events.telemetry import make_tracer_provider, tracer_for


def main() -> None:
    settings = Settings.from_env()
    provider = make_tracer_provider(
        "cases", settings.common.trace_file, otlp=settings.common.otlp_traces
    )
    serve(create_app(settings, tracer_for(provider, "cases")), settings.common, "cases", provider)


if __name__ == "__main__":
    main()
