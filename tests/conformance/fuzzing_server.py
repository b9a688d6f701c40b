"""kosoku's fuzzing server in a process of its own, for the conformance tests.

Usage: python fuzzing_server.py CASE [CASE ...]. Serves the Autobahn cases on
127.0.0.1 (a free port, printed as the first line), and once the client asked for
``updateReports`` prints one JSON line: every case's id, index, behaviours and whether
it passed. In its own process the server's Python case code does not share the
engine's interpreter lock, so both run at full speed on a two-core machine.
"""

from __future__ import annotations

import asyncio
import json
import sys

from kosoku import FailureError, run_fuzzingserver


async def serve(cases: list[str]) -> None:
    async with run_fuzzingserver(cases, [], host="127.0.0.1", port=0) as server:
        print(server.port, flush=True)
        try:
            results = await server.get_result()
        except FailureError as exc:
            results = exc.results
    print(
        json.dumps(
            [
                {
                    "case_id": r.case_id,
                    "index": r.case_index,
                    "behavior": r.behavior.value,
                    "behavior_close": r.behavior_close.value,
                    "passed": r.passed,
                }
                for r in results
            ]
        ),
        flush=True,
    )


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
