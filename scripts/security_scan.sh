#!/usr/bin/env bash
# A wapiti scan of the portal, signed in as a client and as an administrator (SECURITY.md,
# "Dynamic scan"). Usage:
#
#   scripts/security_scan.sh [REPORT_DIR]
#
# 1. makes wapiti's own virtualenv if it is missing (WAPITI_VENV, default /tmp/wapiti-venv;
#    wapiti pins an older Flask, so it never goes into the project's .venv);
# 2. starts the portal in development mode with the demo data on a free local port: a temporary
#    SQLite database, upload folder and trust store, a fixed SECRET_KEY, a private redis-server
#    (or REDIS_URL if set, with a queue name and rate-limit prefix of the scan's own), gunicorn
#    with its own control socket in the temporary directory;
# 3. signs in with python requests (the demo phones; e-mails at .test are refused by the
#    e-mail validator);
# 4. runs wapiti as the client and as the administrator with the session cookie, never
#    following sign-out, the language switch or the password change (they would end or change
#    the session), modules common,csrf,crlf,redirect without ssrf (it needs the internet);
#    the crawl is bounded by CRAWL_SECONDS (default 300) and each of the 12 modules by
#    ATTACK_SECONDS (default 120), so a role takes at most CRAWL + 12 x ATTACK seconds; then
#    gunicorn is sent a few requests whose length is ambiguous (request smuggling);
# 5. unless PRODUCTION_CHECK=0, starts the portal once more as production (no demo data, real
#    backends named but never reached, a throw-away CA in the trust store) and shows the
#    cookie flags and HSTS it sends; wapiti's passive modules then look at it as a visitor;
# 6. stops everything it started and prints each report's summary and the status codes the
#    portal answered during each scan.
#
# Reports (txt) go to REPORT_DIR, or to a new temporary directory whose path is printed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${PORTAL_VENV:-$ROOT/.venv}
WAPITI_VENV=${WAPITI_VENV:-/tmp/wapiti-venv}
WAPITI_VERSION=${WAPITI_VERSION:-3.2.3}
CRAWL_SECONDS=${CRAWL_SECONDS:-300}
ATTACK_SECONDS=${ATTACK_SECONDS:-120}
PRODUCTION_CHECK=${PRODUCTION_CHECK:-1}
PASSWORD='Demo-Parole-2026!'
CLIENT_PHONE=+37120000002
ADMIN_PHONE=+37120000001

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kabinets-scan.XXXXXX")
REPORTS=${1:-$WORK/reports}
mkdir -p "$REPORTS"
REPORTS=$(cd "$REPORTS" && pwd)
PY="$VENV/bin/python"

STARTED_PIDS=()
cleanup() {
    local pid
    for pid in "${STARTED_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    STARTED_PIDS=()
    # The portal's data is throw-away; the reports and logs stay.
    rm -rf "$WORK/data" "$WORK/wapiti-session"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*"; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {  # wait_for URL PID SECONDS: until URL answers (any status) while PID lives
    local url=$1 pid=$2 deadline=$((SECONDS + $3))
    until curl -s -o /dev/null --max-time 5 "$url"; do
        kill -0 "$pid" 2>/dev/null || { echo "process $pid died; see $WORK" >&2; return 1; }
        ((SECONDS < deadline)) || { echo "$url did not answer in $3 s" >&2; return 1; }
        sleep 0.3
    done
}

# --- 1. wapiti's virtualenv -----------------------------------------------------------------
if [[ ! -x "$WAPITI_VENV/bin/wapiti" ]]; then
    say "making $WAPITI_VENV (wapiti3 $WAPITI_VERSION)"
    python3 -m venv "$WAPITI_VENV"
    "$WAPITI_VENV/bin/pip" install -q --disable-pip-version-check "wapiti3==$WAPITI_VERSION"
fi
WAPITI="$WAPITI_VENV/bin/wapiti"
"$WAPITI" --version 2>/dev/null | grep -m1 -o 'Wapiti [0-9.]*' || true

# --- 2. the portal, development mode, demo data ---------------------------------------------
mkdir -p "$WORK/data/uploads" "$WORK/data/trust" "$WORK/logs"
# Nothing of the caller's mail, SMS or storage settings: development backends only.
for name in $(compgen -e | grep -E '^(MAIL_|SMS_|S3_|STORAGE_|SIGNING_|RATELIMIT_)' || true); do
    unset "$name"
done

if [[ -n "${REDIS_URL:-}" ]]; then
    SCAN_REDIS=$REDIS_URL  # someone else's Redis: the queue name and the limit prefix keep us apart
else
    REDIS_BIN=$(command -v redis-server || echo "$VENV/bin/redis-server")
    REDIS_PORT=$(free_port)
    "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$WORK/data" >"$WORK/logs/redis.log" 2>&1 &
    STARTED_PIDS+=($!)
    SCAN_REDIS="redis://127.0.0.1:$REDIS_PORT/0"
fi
TAG="security-scan-$$"

# The scan portal's environment: `env "${DEVELOPMENT[@]}" command` (env execs the command, so
# `$!` of a background one is the command's own process id).
DEVELOPMENT=(PORTAL_ENV=development
             SECRET_KEY="security-scan-fixed-secret-not-for-production"
             DATABASE_URL="sqlite:///$WORK/data/portal.sqlite3"
             UPLOAD_DIR="$WORK/data/uploads"
             SIGNING_TRUST_DIR="$WORK/data/trust"
             REDIS_URL="$SCAN_REDIS" RQ_QUEUE="$TAG" RATELIMIT_KEY_PREFIX="$TAG"
             PYTHONDONTWRITEBYTECODE=1)

cd "$ROOT"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
say "portal (development, demo data) at $BASE; work directory $WORK"
DEVELOPMENT+=(BASE_URL="$BASE")
env "${DEVELOPMENT[@]}" "$VENV/bin/flask" --app portal init-db
env "${DEVELOPMENT[@]}" "$VENV/bin/flask" --app portal seed-demo
# gunicorn from the repository's root reads gunicorn.conf.py (no Server header), as the
# Procfile runs it. The access log has the status first, so each scan's answers can be counted.
env "${DEVELOPMENT[@]}" "$VENV/bin/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 --threads 4 \
    --control-socket "$WORK/data/gunicorn.ctl" \
    --access-logfile "$WORK/logs/access.log" --access-logformat '%(s)s %(m)s %(U)s' \
    --error-logfile "$WORK/logs/portal.log" "portal:create_app()" &
PORTAL_PID=$!
STARTED_PIDS+=($PORTAL_PID)
wait_for "$BASE/health" "$PORTAL_PID" 90

# --- 3. signing in --------------------------------------------------------------------------
sign_in() {  # sign_in PHONE: prints the session cookie's value
    "$PY" - "$BASE" "$1" "$PASSWORD" <<'PY'
import re, sys
import requests
base, phone, password = sys.argv[1:]
s = requests.Session()
page = s.get(base + "/login", timeout=30).text
token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
r = s.post(base + "/login", data={"csrf_token": token, "identifier": phone, "password": password},
           allow_redirects=False, timeout=60)
if r.status_code != 303 or not r.headers["Location"].endswith("/dashboard"):
    sys.exit(f"sign-in as {phone} failed: {r.status_code} {r.headers.get('Location')}")
# A page with a form puts the session's CSRF secret into the cookie. wapiti sends this cookie
# as given: without the secret, every token it reads from a form would belong to a secret the
# next request no longer carries, and each attack on a form would end at the CSRF check (400).
s.get(base + "/settings", timeout=30).raise_for_status()
print(s.cookies["kabinets_session"])
PY
}

still_signed_in() {  # still_signed_in COOKIE: yes when the dashboard still answers 200
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -b "kabinets_session=$1" "$BASE/dashboard")
    [[ $code == 200 ]] && echo yes || echo "no ($code)"
}

# --- 4. wapiti, as each role ----------------------------------------------------------------
MODULES="common,csrf,crlf,redirect,-ssrf"
declare -A ANSWERS SIGNED_IN
scan() {  # scan ROLE PHONE
    local role=$1 phone=$2 cookie before
    cookie=$(sign_in "$phone")
    say "wapiti as the $role ($phone): modules $MODULES, crawl ≤ $CRAWL_SECONDS s, each module ≤ $ATTACK_SECONDS s"
    before=$(wc -l <"$WORK/logs/access.log")
    "$WAPITI" -u "$BASE/" --scope folder -C "kabinets_session=$cookie" \
        -x "$BASE/logout" -x "$BASE/language" -x "$BASE/password/change" \
        -m "$MODULES" --max-scan-time "$CRAWL_SECONDS" --max-attack-time "$ATTACK_SECONDS" \
        --flush-session --store-session "$WORK/wapiti-session" \
        -f txt -o "$REPORTS/wapiti-$role.txt" --no-bugreport -v 1 \
        >"$WORK/logs/wapiti-$role.log" 2>&1 || echo "wapiti ($role) exited with $?"
    SIGNED_IN[$role]=$(still_signed_in "$cookie")
    ANSWERS[$role]=$(tail -n +"$((before + 1))" "$WORK/logs/access.log" | cut -d' ' -f1 | sort | uniq -c |
                     awk '{printf "%s×%s ", $1, $2}')
}
scan client "$CLIENT_PHONE"
scan admin "$ADMIN_PHONE"

# Request smuggling (ASVS 4.2.1): requests whose end is ambiguous must be refused, not guessed.
say "gunicorn and requests of ambiguous length"
"$PY" - "$PORT" <<'PY' | tee "$REPORTS/smuggling-probe.txt"
import socket, sys
port = int(sys.argv[1])
probes = {
    "Content-Length and Transfer-Encoding": b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Content-Lengths": b"Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
    "Transfer-Encoding: chunked, identity": b"Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "Transfer-Encoding with a space before the colon": b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
}
for name, rest in probes.items():
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n" + rest)
        status = s.recv(200).split(b"\r\n")[0].decode()
    print(f"{name}: {status}")
PY

kill -TERM "$PORTAL_PID"
wait "$PORTAL_PID" 2>/dev/null || true

# --- 5. the same portal as production: Secure cookie and HSTS --------------------------------
if [[ $PRODUCTION_CHECK == 1 ]]; then
    PROD_PORT=$(free_port)
    PROD="http://127.0.0.1:$PROD_PORT"
    say "portal as production (PORTAL_ENV unset, no demo data) at $PROD"
    # Production starts only with a trust store: a throw-away CA, trusted by nothing else.
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Kabinets scan throw-away CA" \
        -keyout "$WORK/data/ca.key" -out "$WORK/data/trust/ca.pem" 2>/dev/null
    # PORTAL_ENV unset: production, the default. Mail, SMS and signing name real backends
    # (nothing is sent: nobody registers or recovers here).
    PRODUCTION=(-u PORTAL_ENV SECRET_KEY="security-scan-production-secret"
                DATABASE_URL="sqlite:///$WORK/data/production.sqlite3" UPLOAD_DIR="$WORK/data/uploads"
                SIGNING_TRUST_DIR="$WORK/data/trust" SIGNING_BACKEND=none SIGNING_REVOCATION=offline
                MAIL_SERVER=127.0.0.1 MAIL_PORT=9 SMS_GATEWAY_URL="http://127.0.0.1:9/sms"
                REDIS_URL="$SCAN_REDIS" RQ_QUEUE="$TAG-production" RATELIMIT_KEY_PREFIX="$TAG-production"
                BASE_URL="$PROD" PYTHONDONTWRITEBYTECODE=1)
    env "${PRODUCTION[@]}" "$VENV/bin/flask" --app portal init-db
    env "${PRODUCTION[@]}" "$VENV/bin/gunicorn" --bind "127.0.0.1:$PROD_PORT" --workers 1 --threads 4 \
        --control-socket "$WORK/data/gunicorn-production.ctl" \
        --access-logfile "$WORK/logs/access-production.log" --access-logformat '%(s)s %(m)s %(U)s' \
        --error-logfile "$WORK/logs/portal-production.log" "portal:create_app()" &
    PROD_PID=$!
    STARTED_PIDS+=($PROD_PID)
    wait_for "$PROD/health" "$PROD_PID" 90
    curl -s -D - -o /dev/null "$PROD/login" | grep -iE '^(set-cookie|strict-transport-security):' |
        tee "$REPORTS/production-headers.txt"
    "$WAPITI" -u "$PROD/" --scope folder -m cookieflags,http_headers,csp --max-scan-time 120 \
        --flush-session --store-session "$WORK/wapiti-session" \
        -f txt -o "$REPORTS/wapiti-production-visitor.txt" --no-bugreport -v 1 \
        >"$WORK/logs/wapiti-production-visitor.log" 2>&1 || echo "wapiti (production) exited with $?"
    kill -TERM "$PROD_PID"
    wait "$PROD_PID" 2>/dev/null || true
fi

# --- 6. summaries ---------------------------------------------------------------------------
cleanup
summary() {  # the counts that are not 0, and the first line of each finding
    awk '
        /Crawled pages/ { sub(/^ +/, ""); print; next }
        /^Summary of / { inblock = 1; want = 0; print; next }
        inblock && /^\*+$/ { inblock = 0; next }
        inblock { if ($0 ~ /: +[1-9][0-9]*$/) { sub(/^ +/, "  "); print }; next }
        /^\*+$/ { want = 0; next }
        /^-+$/ { want = 1; next }
        /^ +\* +\* +\*$/ { want = 1; next }
        want && NF { print "    - " $0; want = 0 }
    ' "$1"
}
for report in "$REPORTS"/wapiti-*.txt; do
    role=$(basename "$report" .txt); role=${role#wapiti-}
    say "$role: $report"
    summary "$report"
    if [[ -n "${ANSWERS[$role]:-}" ]]; then
        echo "portal answered during the scan: ${ANSWERS[$role]}"
        echo "still signed in after the scan: ${SIGNED_IN[$role]}"
    fi
done
echo
echo "reports: $REPORTS   logs: $WORK/logs"
