"""Flask-WTF forms: the shape of each form and its field checks. Forms never write."""
