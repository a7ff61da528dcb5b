# Back up the database before the migrations of a new release run.
set -eu
cd /var/webapps/fleio/project
python3 manage.py dbbackup
