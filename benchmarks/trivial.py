"""The reference for ``make bench``: the smallest Flask answer, served by a gunicorn started
with the portal's own options. Pages are compared with it in the same run, so the ratio
holds on a busy or a quiet machine alike (``benchmarks/run.py``)."""
from flask import Flask

app = Flask(__name__)


@app.get("/bench/trivial")
def trivial():
    """A few bytes of text: what Flask and gunicorn cost with nothing else."""
    return "ok"
