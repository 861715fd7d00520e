"""The authenticated broker's ACLs: which principal may write and read which topic.

One matrix, three readers: `infra/kafka.sh` writes it to a SASL_SSL broker with Kafka's own
AclCommand (`prahari-kafka-acls` prints one line of options per grant), docs/security.md
shows it (a test compares the two), and the broker's refusals are tested. Each service's
principal writes only the topics it produces (and the dead-letter topic, which every
consumer writes), reads only what it consumes, and joins only its own consumer groups; the
audit principal reads every topic and writes none. Everything else is refused: the broker
runs with `allow.everyone.if.no.acl.found=false`.

Each partner state has a principal of its own (`state-<LGD code>`) for its systems: it
reads its feed, `prahari.share.<code>`, in consumer groups named `state-<code>...`, and
nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from prahari_events.kafka import Topics
from prahari_events.lgd import AGREEMENT_STATES

SERVICES = ("intake", "cases", "notify")


def state_principal(state: int) -> str:
    """The broker principal of a partner state's systems."""
    return f"state-{state}"


def principals() -> list[str]:
    """Every principal but the admin: the SCRAM users infra/kafka.sh makes."""
    return [*SERVICES, "audit", *(state_principal(s) for s in AGREEMENT_STATES)]


@dataclass(frozen=True, slots=True)
class Grant:
    """Operations a principal may perform on named topics (and consumer groups)."""

    principal: str
    operations: tuple[str, ...]
    topics: tuple[str, ...]
    groups: tuple[str, ...] = ()
    prefixed: bool = False

    def options(self) -> str:
        """The grant as AclCommand options (names hold no spaces)."""
        parts = [f"--allow-principal User:{self.principal}"]
        parts += [f"--operation {op}" for op in self.operations]
        parts += [f"--topic {t}" for t in self.topics]
        parts += [f"--group {g}" for g in self.groups]
        if self.prefixed:
            parts.append("--resource-pattern-type prefixed")
        return " ".join(parts)


def reads(topics: Topics, service: str) -> list[str]:
    """The topics a service consumes."""
    return {
        # intake follows cases (a report's case) and the dead letters (a report refused)
        "intake": [topics.case_events, topics.deadletter],
        # cases consumes reports, and its own events for the read models
        "cases": [topics.reports, topics.case_events],
        "notify": [topics.case_events, topics.intake_replies],
    }[service]


def groups(topics: Topics, service: str) -> list[str]:
    """The consumer groups a service joins, by their default names."""
    own = [f"{topics.prefix}{service}"]
    if service == "intake":
        own.append(f"{topics.prefix}intake-deadletters")
    return own


def matrix(topics: Topics) -> list[Grant]:
    grants: list[Grant] = []
    for service in SERVICES:
        grants.append(Grant(service, ("Write",), tuple(topics.written_by(service))))
        grants.append(
            Grant(
                service,
                ("Read",),
                tuple(reads(topics, service)),
                tuple(groups(topics, service)),
            )
        )
    grants.append(
        Grant("audit", ("Read", "Describe"), (f"{topics.prefix}prahari.",), prefixed=True)
    )
    for state in AGREEMENT_STATES:
        principal = state_principal(state)
        grants.append(Grant(principal, ("Read", "Describe"), (topics.share(state),)))
        # Its consumer groups: any name its systems choose, under its own prefix.
        grants.append(
            Grant(principal, ("Read",), (), (f"{topics.prefix}{principal}",), prefixed=True)
        )
    return grants


def markdown(topics: Topics) -> str:
    """The matrix as docs/security.md shows it: principal, topics written, topics read."""
    lines = [
        "| principal | writes | reads | consumer groups |",
        "|---|---|---|---|",
    ]
    shares = set(topics.shares)
    for service in SERVICES:
        written = [f"`{t}`" for t in topics.written_by(service) if t not in shares]
        if shares & set(topics.written_by(service)):
            written.append(f"every state's feed `{topics.share('<code>')}`")
        lines.append(
            f"| `{service}` | "
            + ", ".join(written)
            + " | "
            + ", ".join(f"`{t}`" for t in reads(topics, service))
            + " | "
            + ", ".join(f"`{g}`" for g in groups(topics, service))
            + " |"
        )
    lines.append(f"| `audit` | nothing | every topic named `{topics.prefix}prahari.*` | none |")
    example = topics.share(AGREEMENT_STATES[1])
    lines.append(
        f"| `state-<code>`, one per state of the agreement | nothing | its own feed only,"
        f" e.g. `{example}` for `{state_principal(AGREEMENT_STATES[1])}`"
        f" | any named `{topics.prefix}state-<code>*` |"
    )
    lines.append("| `admin` | super user: creates topics and writes these ACLs | all | all |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="prahari-kafka-acls",
        description="Print the broker's ACLs, one line of AclCommand options per grant.",
    )
    parser.add_argument("--prefix", default=os.environ.get("PRAHARI_TOPIC_PREFIX", ""))
    parser.add_argument("--markdown", action="store_true", help="the table of docs/security.md")
    parser.add_argument("--principals", action="store_true", help="the SCRAM users to make")
    args = parser.parse_args(argv)
    topics = Topics(args.prefix)
    if args.principals:
        print(" ".join(principals()))
    elif args.markdown:
        sys.stdout.write(markdown(topics))
    else:
        for grant in matrix(topics):
            print(grant.options())
    return 0
