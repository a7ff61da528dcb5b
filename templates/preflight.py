# Preflight for a Fleio deployment: MariaDB and Redis are reachable at the
# versions Fleio needs, and the Secrets it reads exist. Each round prints
# every problem and records each of the database and Redis checks that
# passed in a ConfigMap ($RESULT_DATABASE, $RESULT_REDIS, owned by this
# Job), which the preflight Kustomization health-checks: one that fails is
# named in its status. Until every check passes, the script checks again,
# backing off from 15 seconds to 5 minutes, so the Flux stage chain stops
# here and goes on by itself once the cause is fixed. The Secrets are files
# of optional volumes, which the kubelet fills in when a Secret appears.
# PREFLIGHT_ROUNDS (tests) ends it with exit 1 after that many rounds.
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.request


def version(text):
    m = re.match(r'(\d+)\.(\d+)\.(\d+)', text)
    return tuple(int(x) for x in m.groups()) if m else None


def read(var, missing=''):
    """The content of the Secret file named by $var, missing when there is none."""
    try:
        with open(os.environ[var]) as f:
            return f.read()
    except OSError:
        return missing


def check(problems, passed):
    # A required key must hold a value, unless $REQUIRED_SECRET_<n>_EMPTY_OK
    # is set (a Redis without a password).
    for var in sorted(k for k in os.environ if re.fullmatch(r'REQUIRED_SECRET_\d+', k)):
        what = os.environ.get(var + '_FROM', var)
        content = read(var, None)
        if content is None:
            problems.append('missing Secret or key: ' + what)
        elif content == '' and not os.environ.get(var + '_EMPTY_OK'):
            problems.append('empty value: ' + what)

    db = '%s:%s' % (os.environ['DB_HOST'], os.environ['DB_PORT'])
    try:
        import MySQLdb
        conn = MySQLdb.connect(host=os.environ['DB_HOST'], port=int(os.environ['DB_PORT']),
                               user=read('DB_USER_FILE'), passwd=read('DB_PASSWORD_FILE'),
                               db=os.environ['DB_NAME'], connect_timeout=10)
        cur = conn.cursor()
        cur.execute('SELECT VERSION()')
        found = cur.fetchone()[0]
        conn.close()
        if 'mariadb' not in found.lower() or (version(found) or (0,)) < version(os.environ['DB_MIN_VERSION']):
            problems.append('database %s runs %s; Fleio needs MariaDB %s or newer' % (db, found, os.environ['DB_MIN_VERSION']))
        else:
            passed['database'] = 'MariaDB %s at %s, database %s' % (found, db, os.environ['DB_NAME'])
    except Exception as e:  # any failure is reported, none is fatal before the others run
        problems.append('database %s: %s' % (db, e))

    rd = '%s:%s' % (os.environ['REDIS_HOST'], os.environ['REDIS_PORT'])
    try:
        import redis
        # The login settings.py makes: a username only with a password.
        password = read('REDIS_PASSWORD_FILE') or None
        client = redis.Redis(host=os.environ['REDIS_HOST'], port=int(os.environ['REDIS_PORT']),
                             db=int(os.environ['REDIS_DB']), username=(read('REDIS_USER_FILE') or None) if password else None,
                             password=password, socket_timeout=10)
        found = client.info('server')['redis_version']
        if (version(found) or (0,)) < version(os.environ['REDIS_MIN_VERSION']):
            problems.append('redis %s runs %s; Fleio needs Redis %s or newer' % (rd, found, os.environ['REDIS_MIN_VERSION']))
        else:
            passed['redis'] = 'Redis %s at %s, database %s' % (found, rd, os.environ['REDIS_DB'])
    except Exception as e:
        problems.append('redis %s: %s' % (rd, e))


def record(problems, passed):
    """Writes a ConfigMap for each check that passed, deletes the others."""
    sa = os.environ.get('SERVICEACCOUNT_DIR', '/var/run/secrets/kubernetes.io/serviceaccount') + '/'
    host = os.environ['KUBERNETES_SERVICE_HOST']
    if ':' in host:
        host = '[' + host + ']'
    base = 'https://%s:%s/api/v1/namespaces/%s/configmaps' % (host, os.environ['KUBERNETES_SERVICE_PORT'], os.environ['POD_NAMESPACE'])

    def call(method, url, body=None):
        with open(sa + 'token') as f:
            token = f.read().strip()
        tls = ssl.create_default_context(cafile=sa + 'ca.crt')
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
        urllib.request.urlopen(req, context=tls, timeout=10).close()

    for name, result in (('database', os.environ['RESULT_DATABASE']), ('redis', os.environ['RESULT_REDIS'])):
        try:
            if name in passed:
                cm = {'apiVersion': 'v1', 'kind': 'ConfigMap',
                      'metadata': {'name': result, 'namespace': os.environ['POD_NAMESPACE'],
                                   'labels': {'app.kubernetes.io/managed-by': 'fleiogen', 'app.kubernetes.io/component': 'preflight'},
                                   'ownerReferences': [{'apiVersion': 'batch/v1', 'kind': 'Job',
                                                        'name': os.environ['JOB_NAME'], 'uid': os.environ['JOB_UID']}]},
                      'data': {'result': passed[name]}}
                try:
                    call('POST', base, cm)
                except urllib.error.HTTPError as e:
                    if e.code != 409:
                        raise
                    call('PUT', base + '/' + result, cm)
            else:
                try:
                    call('DELETE', base + '/' + result)
                except urllib.error.HTTPError as e:
                    if e.code != 404:
                        raise
        except Exception as e:
            problems.append('recording the %s check in ConfigMap %s: %s' % (name, result, e))


rounds = int(os.environ.get('PREFLIGHT_ROUNDS', '0'))
delay = int(os.environ.get('PREFLIGHT_FIRST_DELAY', '15'))
n = 0
while True:
    n += 1
    problems, passed = [], {}
    check(problems, passed)
    record(problems, passed)
    for p in problems:
        print('preflight: ' + p, file=sys.stderr, flush=True)
    if not problems:
        break
    if n == rounds:
        sys.exit(1)
    print('preflight: checking again in %d seconds' % delay, file=sys.stderr, flush=True)
    time.sleep(delay)
    delay = min(max(delay * 2, 1), 300)
for name in sorted(passed):
    print('preflight: ' + passed[name])
print('preflight: MariaDB, Redis and Secrets are ready')
