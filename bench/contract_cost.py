"""CPU a first-load event spends in the contract check and the content hash, in-process.

    .venv/bin/python bench/contract_cost.py [--children 3000] [--rounds 5] [--against DIR]

Times `validate_event` then `content_hash` on the first-load mix (bench/synth.py), as intake does.
With --against DIR (a checkout whose `contracts/` holds other code, e.g. from `git archive`), that
code and this one are run alternately in fresh processes, `rounds` times each, so both see the same
machine load; the best round of each is printed.
"""

import argparse
import copy
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(children):
    sys.path.insert(0, str(HERE))
    from childlink_contracts import content_hash, validate_event
    from synth import Templates, first_load, interleave

    events = interleave(first_load(Templates(), 60_000_000, children))
    bodies = [(department, copy.deepcopy(event)) for department, event in events]
    for department, body in bodies[:200]:  # warm the caches (schemas, plans, regexes)
        content_hash(validate_event(body, department))
    cpu = time.process_time()
    for department, body in bodies:
        content_hash(validate_event(body, department))
    return 1000 * (time.process_time() - cpu) / len(bodies)


def load():
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--against", help="a checkout whose contracts/ is the other code to time")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(f"{measure(args.children):.4f}")
        return 0
    codes = {"this": None}
    if args.against:
        codes = {"other": str(Path(args.against).resolve() / "contracts"), "this": None}
    best = {name: float("inf") for name in codes}
    for _ in range(args.rounds):
        for name, path in codes.items():
            env = dict(os.environ)
            if path:
                env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
            out = subprocess.run([sys.executable, __file__, "--once", "--children", str(args.children)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            best[name] = min(best[name], float(out))
            print(f"{name}: {float(out):.3f} ms CPU an event (load {load()})", file=sys.stderr, flush=True)
    for name, figure in best.items():
        print(f"best {name}: {figure:.3f} ms CPU an event (validate_event + content_hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
