# Create or update Fleio's tables, then create the admin user if missing.
set -eu
cd /var/webapps/fleio/project
echo "setup-database: Fleio $FLEIO_VERSION, database $FLEIO_DATABASE"
python3 manage.py migrate --noinput
python3 manage.py shell <<'PY'
import os
from django.contrib.auth import get_user_model
users = get_user_model()
name = os.environ['FLEIO_ADMIN_USERNAME']
if users.objects.filter(username=name).exists():
    print('admin user %s exists' % name)
else:
    users.objects.create_superuser(name, os.environ.get('FLEIO_ADMIN_EMAIL', ''), os.environ['FLEIO_ADMIN_PASSWORD'])
    print('admin user %s created' % name)
PY
