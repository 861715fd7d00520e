"""One valid report of each type. The OpenAPI document shows them, the tests file them, and
the README's curl lines are made from them, so all three agree."""

from __future__ import annotations

from typing import Any

# Sonbhadra (LGD 184) and Chandauli (135) in Uttar Pradesh (9) border Bihar (10).
EXAMPLES: dict[str, dict[str, Any]] = {
    "rumour": {
        "type": "rumour",
        "description": "व्हाट्सएप पर झूठा संदेश कि सोनभद्र में मतदान की तारीख बदल गई है",
        "state": 9,
        "district": 184,
        "occurred_at": "2024-04-11T09:30:00+05:30",
        "rumour": {
            "platform": "whatsapp",
            "handle": "+91 98xxxxxx21 (forwarded many times)",
            "language": "hi",
            "excerpt": "सोनभद्र में मतदान 19 अप्रैल की जगह 26 अप्रैल को होगा",
            "first_seen_at": "2024-04-11T08:05:00+05:30",
            "estimated_reach": 12000,
            "screenshot_sha256": "9f2c4a7e0b1d3c5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e",
        },
    },
    "smuggling_tip": {
        "type": "smuggling_tip",
        "description": "Truck with illicit liquor expected to cross from Bihar tonight",
        "state": 9,
        "district": 135,
        "occurred_at": "2024-04-11T18:00:00+05:30",
        "smuggling_tip": {
            "commodity": "liquor",
            "vehicles": ["BR 01 AB 1234"],
            "persons": [{"name": "unknown driver"}],
            "route": {"from": {"state": 10, "district": 200}, "to": {"state": 9, "district": 135}},
            "expected_at": "2024-04-11T23:30:00+05:30",
        },
    },
    "seizure": {
        "type": "seizure",
        "description": "नौबतपुर चेकपोस्ट पर ट्रक से 1200 लीटर अवैध शराब जब्त",
        "state": 9,
        "district": 135,
        "occurred_at": "2024-04-12T01:10:00+05:30",
        "location": {"latitude": 25.33, "longitude": 83.27, "place": "Naubatpur check-post"},
        "seizure": {
            "category": "liquor",
            "quantity": 1200,
            "unit": "litres",
            "value_inr": 480000,
            "place": {"check_post": "Naubatpur", "district": 135},
            "vehicles": ["BR01AB1234"],
            "persons": [{"name": "Ramesh Kumar", "description": "driver"}],
            "agency": "excise",
            "fir_number": "0123/2024",
        },
    },
    "intelligence": {
        "type": "intelligence",
        "description": "Movement of an inter-state gang reported near the Jharkhand border",
        "state": 9,
        "district": 184,
        "occurred_at": "2024-04-10T21:00:00+05:30",
        "intelligence": {
            "subject": "inter_state_gang",
            "persons": [{"name": "unknown", "description": "four men on two motorcycles"}],
            "vehicles": ["JH 03 K 4567"],
            "area": "naxal_affected",
        },
    },
    "incident": {
        "type": "incident",
        "description": "Scuffle outside a polling booth after a rumour about bogus voting",
        "state": 9,
        "district": 184,
        "occurred_at": "2024-04-19T11:45:00+05:30",
        "location": {"place": "Booth 112, Robertsganj"},
        "incident": {"category": "rumour_led_unrest", "injured": 2},
    },
}
