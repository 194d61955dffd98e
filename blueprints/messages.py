"""Messages (issue 4): threads between a client and the institution."""
from flask import Blueprint

bp = Blueprint("messages", __name__)
