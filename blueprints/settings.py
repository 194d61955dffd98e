"""User settings (ACC-14): profile and contact preferences."""
from flask import Blueprint, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

import models
from blueprints import audit, render_form, see_other
from forms.settings import ProfileForm

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("", methods=["GET", "POST"])
@login_required
def profile():
    """Name, the language we write in, and which channels we use."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        with models.action():
            before = {f: getattr(user, f) for f in ("language", "notify_email", "notify_sms")}
            form.populate_obj(user)
            user.full_name = user.full_name.strip()
            user.save()
            after = {f: getattr(user, f) for f in before}
            audit("settings.profile_changed", user=user,
                  changed=sorted(k for k in before if before[k] != after[k]))
        flash(_("Your settings have been saved."), "success")
        return see_other("settings.profile")
    return render_form("settings/profile.html", "settings/_profile_form.html", form=form)
