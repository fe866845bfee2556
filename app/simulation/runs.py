"""One what-if run for the supervisor console, as plain data (it runs in a worker process).

The input is the profile (already fitted or scaled), the target and the seed; the answer is
the per-month table, pooled beside separate desks, and the two plots as PNG: everything a
page shows, nothing the worker would have to send back as Python objects.
"""

import base64
import json
import time
from hashlib import sha256
from typing import Any

from app.simulation.profile import Profile
from app.simulation.whatif import compare


def expected_cases(profile: Profile) -> float:
    return sum(spec.per_100k for spec in profile.procedures.values()) * profile.population / 1e5


def input_key(profile: Profile, target: float, seed: int, owner: str = "") -> str:
    """The hash of everything the result depends on: the same key, the same figures
    (``owner``: the municipality whose log the profile was fitted from, kept apart)."""
    body = json.dumps(
        {
            "profile": profile.model_dump(mode="json", by_alias=True),
            "t": target,
            "s": seed,
            "owner": owner,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return sha256(body.encode()).hexdigest()


def simulate(profile_json: str, target: float, seed: int, time_cap_s: float) -> dict[str, Any]:
    """The comparison's table and plots (PNG, base64); TooLong past ``time_cap_s``."""
    from app.simulation.plots import render_plots  # matplotlib: only where plots are drawn

    profile = Profile.model_validate_json(profile_json)
    started = time.monotonic()
    result = compare(profile, target=target, seed=seed, deadline=started + time_cap_s)
    months = []
    for month in range(1, 13):
        pooled = result.pooled.months[month - 1]
        separate = result.separate_plan(month)
        months.append(
            {
                "month": month,
                "received": pooled.received,
                "pooled_operators": pooled.plan.operators,
                "pooled_reviewers": pooled.plan.reviewers,
                "pooled_within_due": round(pooled.share, 4),
                "separate_operators": separate.operators,
                "separate_reviewers": separate.reviewers,
                "separate_within_due": round(result.separate_share(month), 4),
                "people_saved": separate.people - pooled.plan.people,
            }
        )
    plots = {
        name: base64.b64encode(image).decode()
        for name, image in render_plots(result, "png").items()
    }
    return {
        "cases": result.cases,
        "pooled_within_due": round(result.pooled.share, 4),
        "months": months,
        "plots": plots,
        "seconds": round(time.monotonic() - started, 1),
    }
