"""Documents (issue 3): statuses, versions, history, uploads, signing."""
from flask import Blueprint

bp = Blueprint("documents", __name__)
