# Preflight for a Fleio deployment: MariaDB and Redis are reachable at the
# versions Fleio needs, and the Secrets it reads exist. Prints every problem
# and exits 1 if there is any, which stops the Flux stage chain here.
import os
import re
import sys

problems = []


def version(text):
    m = re.match(r'(\d+)\.(\d+)\.(\d+)', text)
    return tuple(int(x) for x in m.groups()) if m else None


def need(name):
    value = os.environ.get(name, '')
    if value == '':
        problems.append('missing: ' + os.environ.get(name + '_FROM', name))
    return value


for var in sorted(k for k in os.environ if k.startswith('REQUIRED_SECRET_')):
    if os.environ[var] == '':
        problems.append('missing Secret or key: ' + os.environ.get(var + '_FROM', var))

db_min = version(os.environ['DB_MIN_VERSION'])
try:
    import MySQLdb
    conn = MySQLdb.connect(host=os.environ['DB_HOST'], port=int(os.environ['DB_PORT']),
                           user=need('FLEIO_DB_USER'), passwd=os.environ.get('FLEIO_DB_PASSWORD', ''),
                           db=os.environ['DB_NAME'], connect_timeout=10)
    cur = conn.cursor()
    cur.execute('SELECT VERSION()')
    found = cur.fetchone()[0]
    if 'mariadb' not in found.lower() or (version(found) or (0,)) < db_min:
        problems.append('database %s:%s runs %s; Fleio needs MariaDB %s or newer'
                        % (os.environ['DB_HOST'], os.environ['DB_PORT'], found, os.environ['DB_MIN_VERSION']))
    conn.close()
except Exception as e:  # any failure is reported, none is fatal before the others run
    problems.append('database %s:%s: %s' % (os.environ['DB_HOST'], os.environ['DB_PORT'], e))

redis_min = version(os.environ['REDIS_MIN_VERSION'])
try:
    import redis
    client = redis.Redis(host=os.environ['REDIS_HOST'], port=int(os.environ['REDIS_PORT']),
                         db=int(os.environ['REDIS_DB']), username=os.environ.get('FLEIO_REDIS_USER') or None,
                         password=os.environ.get('FLEIO_REDIS_PASSWORD') or None, socket_timeout=10)
    found = client.info('server')['redis_version']
    if (version(found) or (0,)) < redis_min:
        problems.append('redis %s:%s runs %s; Fleio needs Redis %s or newer'
                        % (os.environ['REDIS_HOST'], os.environ['REDIS_PORT'], found, os.environ['REDIS_MIN_VERSION']))
except Exception as e:
    problems.append('redis %s:%s: %s' % (os.environ['REDIS_HOST'], os.environ['REDIS_PORT'], e))

for p in problems:
    print('preflight: ' + p, file=sys.stderr)
if problems:
    sys.exit(1)
print('preflight: MariaDB, Redis and Secrets are ready')
