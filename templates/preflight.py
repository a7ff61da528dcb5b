# Preflight for a Fleio deployment: MariaDB and Redis are reachable at the
# versions Fleio needs, and the Secrets it reads exist. Prints every problem
# and exits 1 if there is any, which stops the Flux stage chain here. Each
# of the database and Redis checks that passed is recorded in a ConfigMap
# ($RESULT_DATABASE, $RESULT_REDIS, owned by this Job), which the preflight
# Kustomization health-checks: one that failed is named in its status.
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.request

problems = []
passed = {}


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
    else:
        passed['database'] = 'MariaDB %s at %s:%s, database %s' % (found, os.environ['DB_HOST'], os.environ['DB_PORT'], os.environ['DB_NAME'])
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
    else:
        passed['redis'] = 'Redis %s at %s:%s, database %s' % (found, os.environ['REDIS_HOST'], os.environ['REDIS_PORT'], os.environ['REDIS_DB'])
except Exception as e:
    problems.append('redis %s:%s: %s' % (os.environ['REDIS_HOST'], os.environ['REDIS_PORT'], e))



def record():
    """Writes a ConfigMap for each check that passed, deletes the others."""
    sa = os.environ.get('SERVICEACCOUNT_DIR', '/var/run/secrets/kubernetes.io/serviceaccount') + '/'
    host = os.environ['KUBERNETES_SERVICE_HOST']
    if ':' in host:
        host = '[' + host + ']'
    base = 'https://%s:%s/api/v1/namespaces/%s/configmaps' % (host, os.environ['KUBERNETES_SERVICE_PORT'], os.environ['POD_NAMESPACE'])
    token = open(sa + 'token').read().strip()
    tls = ssl.create_default_context(cafile=sa + 'ca.crt')

    def call(method, url, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
        urllib.request.urlopen(req, context=tls, timeout=10).close()

    for check, name in (('database', os.environ['RESULT_DATABASE']), ('redis', os.environ['RESULT_REDIS'])):
        try:
            if check in passed:
                cm = {'apiVersion': 'v1', 'kind': 'ConfigMap',
                      'metadata': {'name': name, 'namespace': os.environ['POD_NAMESPACE'],
                                   'labels': {'app.kubernetes.io/managed-by': 'fleiogen', 'app.kubernetes.io/component': 'preflight'},
                                   'ownerReferences': [{'apiVersion': 'batch/v1', 'kind': 'Job',
                                                        'name': os.environ['JOB_NAME'], 'uid': os.environ['JOB_UID']}]},
                      'data': {'result': passed[check]}}
                try:
                    call('POST', base, cm)
                except urllib.error.HTTPError as e:
                    if e.code != 409:
                        raise
                    call('PUT', base + '/' + name, cm)
            else:
                try:
                    call('DELETE', base + '/' + name)
                except urllib.error.HTTPError as e:
                    if e.code != 404:
                        raise
        except Exception as e:
            problems.append('recording the %s check in ConfigMap %s: %s' % (check, name, e))


record()
for p in problems:
    print('preflight: ' + p, file=sys.stderr)
if problems:
    sys.exit(1)
for check in sorted(passed):
    print('preflight: ' + passed[check])
print('preflight: MariaDB, Redis and Secrets are ready')
