#!/bin/sh
# Mounted over the graphite-statsd image's /opt/graphite/bin/django_admin_init.sh, which its
# graphite service runs at every start (after the Django migrations) and which creates a
# superuser root/root. This one gives `root` the password of the compose secret
# graphite_admin_password instead (docs/security.md), or, without that secret, removes it.
# The password goes from the file into Django inside Python: never on a command line or in the
# environment, so neither `ps` nor `docker inspect` shows it.
BIN=/opt/graphite/bin/python3
[ -f /opt/graphite/bin/pypy3 ] && BIN=/opt/graphite/bin/pypy3
ADMIN=/opt/graphite/bin/django-admin
[ -f "$ADMIN" ] || ADMIN=/opt/graphite/bin/django-admin.py
export PYTHONPATH="${PYTHONPATH:-/opt/graphite/webapp}" DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-graphite.settings}"

"$BIN" "$ADMIN" shell <<'PYTHON'
import os
from django.contrib.auth import get_user_model

User = get_user_model()
secret = '/run/secrets/graphite_admin_password'
if os.path.isfile(secret) and os.path.getsize(secret) > 0:
    with open(secret) as f:
        password = f.read().strip()
    user = User.objects.filter(username='root').first() or User(username='root', email='root@localhost', is_staff=True, is_superuser=True)
    user.set_password(password)
    user.save()
    print('graphite admin: root has the password of the graphite_admin_password secret')
else:
    User.objects.filter(username='root').delete()
    print('graphite admin: no graphite_admin_password secret; root removed')
PYTHON
