"""Which opens and clicks a machine made, not the person.

A machine open is recorded (``email_opened`` with ``machine: true``) but neither sets
``opened_at`` nor counts as a human open in metrics or branches. Heuristics, in order:

1. **Apple Mail Privacy Protection.** Apple's proxy fetches every image when the mail arrives,
   whether or not the person reads it. It sends ``User-Agent: Mozilla/5.0`` and nothing else, and
   fetches from Apple's own network (17.0.0.0/8) or the egress ranges Apple publishes (its
   ``egress-ip-ranges.csv`` maps them to Cloudflare/Akamai/Fastly blocks; the bare UA is the
   reliable part, so we do not ship that list).
2. **Security scanners and prefetchers**: Barracuda, Mimecast, Proofpoint, Microsoft Safe
   Links / Defender, Cisco IronPort, Symantec/Broadcom, Trend Micro, Sophos, Forcepoint, link
   checkers and HTTP libraries (``curl``, ``python-requests``, ``Go-http-client`` …), anything
   calling itself a bot, crawler or spider, and requests with no User-Agent.
3. **Too fast**: an open or click within ``FAST_SECONDS`` of sending. A person cannot read a
   mail that quickly; a gateway scanning on arrival can. This also catches Gmail's image proxy
   (``GoogleImageProxy``) when it prefetches on delivery; later Gmail proxy fetches happen when
   the person opens the mail and count as human.
4. A ``HEAD`` request (link checkers) is a machine.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime

FAST_SECONDS = 10

_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
_SCANNER = re.compile(
    r"barracuda|mimecast|proofpoint|safelinks|safe links|microsoft office|ms-office|"
    r"defender|ironport|cisco|symantec|broadcom|messagelabs|trend ?micro|sophos|forcepoint|"
    r"fortinet|zscaler|checkpoint|linkcheck|link checker|bot\b|bot/|crawler|spider|"
    r"curl/|wget/|python-requests|python-urllib|aiohttp|httpx|go-http-client|"
    r"java/|okhttp|libwww|headless",
    re.IGNORECASE,
)


def machine_request(
    *,
    user_agent: str,
    ip: str | None,
    method: str = "GET",
    sent_at: datetime | None,
    at: datetime,
    apple_rule: bool = True,
) -> bool:
    """Whether a pixel load (or, with ``apple_rule=False``, a click) was made by a machine."""
    agent = user_agent.strip()
    if method.upper() == "HEAD" or not agent:
        return True
    if apple_rule and agent == "Mozilla/5.0":
        return True
    if apple_rule and ip:
        try:
            if ipaddress.ip_address(ip) in _APPLE_NETWORK:
                return True
        except ValueError:
            pass
    if _SCANNER.search(agent):
        return True
    return sent_at is not None and (at - sent_at).total_seconds() < FAST_SECONDS
