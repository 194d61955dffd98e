"""Where a page's CPU goes: cProfile over many requests through the Flask test client, on the
database ``make bench`` built (run it once first, or pass --build).

Usage: .venv/bin/python benchmarks/profile_page.py PATH [-n 200] [--sort tottime] [--limit 40]
       [--anonymous] [--htmx] [--build]
PATH may name the thread's poll as "poll". Signs in as the data set's main user, acting for the
company, unless --anonymous.
"""
import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run, trivial  # noqa: E402


def cpu_per_request(client, path, headers, n):
    """CPU milliseconds per request, median of five runs of ``n``."""
    runs = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(n):
            client.get(path, headers=headers)
        runs.append((time.process_time() - started) / n * 1000)
    return sorted(runs)[2]


def calls_per_request(client, path, headers, n=20):
    """Python and C function calls one request makes (the mean of ``n``)."""
    calls = [0]

    def count(frame, event, arg):
        if event in ("call", "c_call"):
            calls[0] += 1

    sys.setprofile(count)
    try:
        for _ in range(n):
            client.get(path, headers=headers)
    finally:
        sys.setprofile(None)
    return calls[0] / n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--anonymous", action="store_true")
    parser.add_argument("--htmx", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument("--build", action="store_true", help="build the data set first")
    args = parser.parse_args()
    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url, made = run.prepare_database(admin_url, not args.build, 1000, 10000, 10000)
    made = made or run.find_made(url)
    import models
    from benchmarks.dataset import MAIN_EMAIL, PASSWORD
    from portal import create_app
    app = create_app(run.app_config(url, "profile"))
    client = app.test_client()
    headers = {**run.BROWSER, **({"HX-Request": "true"} if args.htmx or args.path == "poll" else {})}
    path = args.path
    if not args.anonymous:
        page = client.get("/login").get_data(as_text=True)
        token = run.CSRF_RE.search(page).group(1)
        r = client.post("/login", data={"csrf_token": token, "identifier": MAIN_EMAIL, "password": PASSWORD})
        assert r.status_code == 303, r.status_code
        client.post(f"/accounts/{made.company_id}", data={"csrf_token": token})
        if path == "poll":
            page = client.get(f"/messages/{made.thread_id}").get_data(as_text=True)
            path = run.POLL_RE.search(page).group(1).replace("&amp;", "&")
    path = path.replace("{thread}", str(made.thread_id)).replace("{document}", str(made.document_id))
    for _ in range(5):
        response = client.get(path, headers=headers)
    print(f"{path}: {response.status_code}, {len(response.data)} bytes")
    print(f"{cpu_per_request(client, path, headers, args.n):.3f} ms CPU per request; trivial Flask "
          f"{cpu_per_request(trivial.app.test_client(), '/bench/trivial', {}, args.n):.3f} ms the same way")
    print(f"{calls_per_request(client, path, headers):.0f} Python function calls per request "
          "(deterministic: compare changes with it on a busy machine)")
    if not args.profile:
        return
    profile = cProfile.Profile(time.process_time)  # CPU, not waiting on the database
    started = time.process_time()
    profile.enable()
    for _ in range(args.n):
        client.get(path, headers=headers)
    profile.disable()
    print(f"{(time.process_time() - started) / args.n * 1000:.2f} ms CPU per request (profiled)")
    models.db.close()
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.limit)


if __name__ == "__main__":
    main()
