"""guests.py: runs the programs of a third-party test suite under the proxy, each in a guest of its own (libevent_regress.py, zeromq_tests.py)."""

import concurrent.futures
import subprocess


def run(proxy, image, *args, env, cwd=None, timeout=120):
    """Runs `image args` in a guest: (exit status, output); status None when it did not end in time."""
    try:
        r = subprocess.run([proxy, image, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out + f"\n(no end within {timeout} s)"


def run_each(names, run_one):
    """`run_one(name)` for every name, two guests at a time: {name: its result}."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = {pool.submit(run_one, name): name for name in names}
        return {runs[done]: done.result() for done in concurrent.futures.as_completed(runs)}
