"""Print what a first visit to each public page transfers, compressed, and how long the server takes.

Usage: .venv/bin/python benchmarks/page_weight.py
A first visit fetches the HTML and every stylesheet and script it links. DESIGN.md allows any
page 60 KB compressed, everything included; the public pages work without JavaScript and load
none, and their target is 12 KB (BENCHMARKS.md).
"""
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from portal import create_app, migrate_database  # noqa: E402

PAGES = ["/", "/login", "/register", "/password/reset", "/legal/privacy"]
LIMIT = 12 * 1024


def main():
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"PORTAL_ENV": "development", "SECRET_KEY": "bench", "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                          "RATELIMIT_ENABLED": False})
        with app.app_context():
            migrate_database()
        client = app.test_client()
        # What an old browser sends (no brotli): the heavier case.
        gzip = {"Accept-Encoding": "gzip, deflate"}
        print(f"{'page':18} {'html':>8} {'css+js':>10} {'total':>9} {'html raw':>9} {'server ms (median of 20)':>25}")
        worst = 0
        for page in PAGES:
            r = client.get(page, headers=gzip)
            html_gz = len(r.data)
            html = client.get(page).get_data(as_text=True)
            assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
            assets_gz = sum(len(client.get(a, headers=gzip).data) for a in assets)
            times = []
            for _ in range(20):
                start = time.perf_counter()
                client.get(page)
                times.append((time.perf_counter() - start) * 1000)
            total = html_gz + assets_gz
            worst = max(worst, total)
            print(f"{page:18} {html_gz:8d} {assets_gz:10d} {total:9d} {len(html.encode()):9d} "
                  f"{statistics.median(times):25.1f}")
        print(f"\nLargest first visit: {worst} bytes compressed ({worst / 1024:.1f} KB); target {LIMIT // 1024} KB: "
              + ("OK" if worst <= LIMIT else "OVER"))
        return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
