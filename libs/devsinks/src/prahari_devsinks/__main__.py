"""Run the development sinks: SMTP on 127.0.0.1:8025 (fallback relay :8026) and the SMS
gateway on http://127.0.0.1:8090/sms (fallback gateway :8091); what they receive goes to
<dir>/mail.jsonl and <dir>/sms.jsonl. Given a receipt URL and secret, the gateways post
signed delivery reports there (notify's POST /v1/receipts/sms)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from aiohttp import web

from prahari_devsinks.sms import SmsGateway
from prahari_devsinks.smtp import MailSink, start_smtp


async def _serve(args: argparse.Namespace, folder: Path) -> None:
    secret = os.environ.get("PRAHARI_SMS_RECEIPT_SECRET") or None
    runners = []
    for port in (args.sms_port, args.sms_fallback_port):
        gateway = SmsGateway(
            folder / "sms.jsonl", receipt_url=args.receipt_url, receipt_secret=secret
        )
        runner = web.AppRunner(gateway.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, args.host, port).start()
        runners.append(runner)
    try:
        await asyncio.Event().wait()
    finally:
        for runner in runners:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="prahari-devsinks", description=__doc__)
    parser.add_argument("--dir", default="var/dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--smtp-fallback-port", type=int, default=8026)
    parser.add_argument("--sms-port", type=int, default=8090)
    parser.add_argument("--sms-fallback-port", type=int, default=8091)
    parser.add_argument("--receipt-url", default=None)
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    smtp = [
        start_smtp(args.host, port, MailSink(folder / "mail.jsonl"))
        for port in (args.smtp_port, args.smtp_fallback_port)
    ]
    try:
        asyncio.run(_serve(args, folder))
    except KeyboardInterrupt:
        pass
    finally:
        for server in smtp:
            server.stop()


if __name__ == "__main__":
    main()
