from __future__ import annotations

from prahari_events.runtime import serve
from prahari_events.telemetry import make_tracer_provider, tracer_for
from prahari_notify.config import Settings
from prahari_notify.entrypoints.http import create_app


def main() -> None:
    settings = Settings.from_env()
    provider = make_tracer_provider(
        "notify", settings.common.trace_file, otlp=settings.common.otlp_traces
    )
    serve(create_app(settings, tracer_for(provider, "notify")), settings.common, "notify", provider)


if __name__ == "__main__":
    main()
