"""schemathesis, run as an integrator would run it (its CLI, `--checks all`, with the
configuration and hook in tests/contract/), against each service as its own process on the
real Kafka and PostgreSQL: every check passes, positive data acceptance included, so a
request whose shape a service's document allows is never refused as malformed, and every
answer is one the document names, with the body it describes.

The generator's seed is fixed, so a failure here reproduces; `--seed` another to explore."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from prahari_events.auth import Unit
from tests.cases_support import SON_ROOM, UNITS
from tests.factories import STATION
from tests.notify_support import write_units
from tests.support import mint, service_under_test

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "contract" / "schemathesis.toml"
SECRET = "webhook-secret-for-schemathesis"
SEED = "20240411"


def _environment(service: str, tmp: Path) -> dict[str, str]:
    if service == "intake":
        return {"PRAHARI_UNIT_DIRECTORY": UNITS, "PRAHARI_SMS_WEBHOOK_SECRET": SECRET}
    if service == "cases":
        return {"PRAHARI_UNIT_DIRECTORY": UNITS}
    return {
        "PRAHARI_UNIT_DIRECTORY": str(write_units(tmp / "units.json")),
        # Nothing is sent here: no case events arrive. The gateway need not answer.
        "PRAHARI_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
        "PRAHARI_SMS_RECEIPT_SECRET": SECRET,
    }


# Who calls: a police station files reports; a district control room works cases and reads
# its notifications.
CALLER: dict[str, Unit] = {"intake": STATION, "cases": SON_ROOM, "notify": SON_ROOM}


@pytest.fixture(params=["intake", "cases", "notify"])
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    name: str = request.param
    with service_under_test(name, tmp_path, _environment(name, tmp_path)) as (url, _):
        yield name, url


def test_schemathesis_checks_all_pass_against_the_document(service: tuple[str, str]) -> None:
    name, url = service
    st = Path(sys.executable).parent / "st"
    env = {
        **os.environ,
        "PRAHARI_TOKEN": mint(CALLER[name], timedelta(hours=1)),
        "PRAHARI_WEBHOOK_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),  # the hook module, tests.contract.st_hooks
    }
    run = subprocess.run(
        [str(st), "--config-file", str(CONFIG), "run", f"{url}/v1/openapi.json",
         "--checks", "all", "--seed", SEED, "--no-color"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
    assert " passed" in run.stdout
    assert "failure" not in run.stdout.splitlines()[-1]
