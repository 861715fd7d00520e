"""Run the development sinks: SMTP on 127.0.0.1:8025 and the SMS gateway on
http://127.0.0.1:8090/sms; what they receive goes to <dir>/mail.jsonl and <dir>/sms.jsonl."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web

from prahari_devsinks.sms import SmsGateway
from prahari_devsinks.smtp import MailSink, start_smtp


def main() -> None:
    parser = argparse.ArgumentParser(prog="prahari-devsinks", description=__doc__)
    parser.add_argument("--dir", default="var/dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--sms-port", type=int, default=8090)
    args = parser.parse_args()
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    smtp = start_smtp(args.host, args.smtp_port, MailSink(folder / "mail.jsonl"))
    try:
        web.run_app(
            SmsGateway(folder / "sms.jsonl").app(),
            host=args.host,
            port=args.sms_port,
            print=None,
            access_log=None,
        )
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
