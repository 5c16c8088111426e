#!/usr/bin/env bash
# A real OpenStack Keystone (v3) on loopback, for the ConsoleAccess tests: sqlite in DIR, fernet
# keys in DIR, the `admin` user of the `Default` domain bootstrapped with ADMIN_PASSWORD.
# Usage: keystone.sh DIR PORT ADMIN_PASSWORD WATCH_PID
# Serves until WATCH_PID (the test process) exits, then stops Keystone: a killed test leaves no
# server behind (and no files: DIR and DIR.log, where the caller may log, are removed).
# Installed by .ci/install-keystone.
set -euo pipefail
dir=$1 port=$2 password=$3 watch=$4
command -v keystone-manage >/dev/null || {
  echo "keystone-manage missing: run .ci/install-keystone (apt: python3-keystone python3-openstackclient)" >&2
  exit 2
}
mkdir -p "$dir/fernet" "$dir/credential" "$dir/log"
conf=$dir/keystone.conf
cat >"$conf" <<CONF
[DEFAULT]
log_dir = $dir/log
[database]
# Without the timeout, concurrent calls fail with "database is locked" (HTTP 500).
connection = sqlite:///$dir/keystone.db?timeout=30
[fernet_tokens]
key_repository = $dir/fernet
[credential]
key_repository = $dir/credential
[cache]
enabled = false
# [security_compliance] change_password_upon_first_use stays off: with it, Keystone 22 answers
# HTTP 500 to a user created without a password (a federated member).
[identity]
# The fewest bcrypt rounds: tests authenticate often, and hashing dominates start-up.
password_hash_rounds = 4
CONF
manage() { keystone-manage --config-file "$conf" "$@" >>"$dir/log/manage.log" 2>&1; }
manage db_sync
# Write-ahead logging: Keystone opens a second connection inside some requests; with the default
# rollback journal, that reader and the request's own commit wait on each other until the sqlite
# timeout (HTTP 500 "database is locked").
python3 -c "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute('pragma journal_mode=wal').fetchall()" "$dir/keystone.db"
manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage bootstrap --bootstrap-password "$password" \
  --bootstrap-public-url "http://127.0.0.1:$port/v3" --bootstrap-region-id RegionOne
# Flexible Engine's global roles, made the official way before serving: creating a global role
# through the API on sqlite can leave the request waiting on its own lock (HTTP 500).
for role in te_admin readonly; do
  manage bootstrap --bootstrap-password "$password" --bootstrap-role-name "$role"
done
keystone-wsgi-public --host 127.0.0.1 --port "$port" -- --config-file "$conf" \
  >>"$dir/log/wsgi.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$dir" "$dir.log"' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/v3"
deadline = time.time() + 60
while True:
    try:
        urllib.request.urlopen(base, timeout=2)
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("keystone did not answer within 60 s")
        time.sleep(0.1)
PY
echo ready >"$dir/ready"
while kill -0 "$watch" 2>/dev/null && kill -0 "$server" 2>/dev/null; do sleep 1; done
