# Back up Fleio's database into the database-backups volume, keep the
# newest RETENTION_COUNT backups (DBBACKUP_CLEANUP_KEEP reads it) and drop
# those older than RETENTION_DAYS days (0: no age limit). Age is counted in
# minutes: find's -mtime +N rounds down to whole days and would keep a
# backup N days and 23 hours old.
set -eu
cd /var/webapps/fleio/project
python3 manage.py dbbackup --clean
if [ "$RETENTION_DAYS" -gt 0 ]; then
  find /var/webapps/fleio/backups -type f -mmin "+$((RETENTION_DAYS * 1440))" -print -delete
fi
