#!/usr/bin/env bash
# make test-distributed: market_daily on Airflow's CeleryExecutor (PostgreSQL metadata DB, Redis
# broker, api-server, scheduler, dag-processor, two Celery workers), with celery pinned below 5.7
# (constraints-distributed.txt) and Airflow on its own ports (PORT_BASE). Asserts: the triggered run succeeds; its
# prepare tasks (one per landed file, mapped) ran on both workers with overlapping times; the writer-pool tasks never
# overlapped; the marts equal a CLI run's; `airflow backfill create` over two days equals `market-monitor backfill`
# over them. Then the same first day once more on a fresh home with one worker only (marts equal again), and
# prints the day's ingest wall time (landed_files start -> register end) with two workers and with one.
# Everything it starts it stops by PID (trap). Exit non-zero on any failure.
#
# Environment: VENV (default .venv; created with constraints.txt when missing, the Celery/Postgres
# extras added with constraints-distributed.txt), KEEP=1 keeps the temp dir, PORT_BASE (default 18000).
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
T0=$(date +%s)
VENV="${VENV:-$REPO/.venv}"
BASE="${PORT_BASE:-18000}"
API_PORT=$((BASE + 80)); PG_PORT=$((BASE + 432)); REDIS_PORT=$((BASE + 379))
LOG1=$((BASE + 793)); LOG2=$((BASE + 794))
WORK="$(mktemp -d /tmp/mm-distributed.XXXXXX)"
chmod 755 "$WORK"
PIDS="$WORK/pids"; mkdir -p "$PIDS" "$WORK/logs"
RUN_DATE="${RUN_DATE:-}"      # default: first sample day
step() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
fail() { echo "DISTRIBUTED RUN FAILED: $*" >&2; exit 1; }

as_pg() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_all() {
  local status=$?
  trap - EXIT INT TERM
  step "stopping (exit status $status)"
  if [ -f "$WORK/cli.pid" ]; then  # the background CLI reference and its children
    pkill -TERM -P "$(cat "$WORK/cli.pid")" 2>/dev/null || true; kill -TERM "$(cat "$WORK/cli.pid")" 2>/dev/null || true
  fi
  local airflow_pids=()
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    case "$(basename "$f")" in postgres.pid|redis.pid) continue ;; esac
    airflow_pids+=("$(cat "$f")")
  done
  if [ ${#airflow_pids[@]} -gt 0 ]; then
    kill -TERM "${airflow_pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 60); do
      local alive=0
      for p in "${airflow_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.5
    done
    for p in "${airflow_pids[@]}"; do kill -0 "$p" 2>/dev/null && kill -KILL -- "-$p" "$p" 2>/dev/null; done
  fi
  if [ -f "$PIDS/redis.pid" ]; then kill -TERM "$(cat "$PIDS/redis.pid")" 2>/dev/null || true; fi
  if [ -f "$WORK/pg/data/postmaster.pid" ]; then  # the postmaster itself (the recorded PID may be runuser)
    head -n1 "$WORK/pg/data/postmaster.pid" >"$PIDS/postgres.pid"
  fi
  if [ -f "$PIDS/postgres.pid" ]; then kill -INT "$(cat "$PIDS/postgres.pid")" 2>/dev/null || true; fi
  for f in redis postgres; do
    [ -f "$PIDS/$f.pid" ] || continue
    for _ in $(seq 1 40); do kill -0 "$(cat "$PIDS/$f.pid")" 2>/dev/null || break; sleep 0.25; done
  done
  if [ $status -ne 0 ]; then
    for log in "$WORK"/logs/*.log; do echo "---- tail $log"; tail -n 25 "$log"; done 2>/dev/null || true
  fi
  if [ "${KEEP:-0}" = 1 ] || [ $status -ne 0 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  step "done; wall time $(( $(date +%s) - T0 )) s"
  exit $status
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() {  # start NAME CMD...: background, own process group, PID recorded
  local name=$1; shift
  setsid "$@" >"$WORK/logs/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
}

# ---------------------------------------------------------------- 1. PostgreSQL and Redis packages
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$PG_BIN" ] || ! command -v redis-server >/dev/null; then
  step "installing postgresql and redis-server (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql redis-server >/dev/null
  PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi

# ---------------------------------------------------------------- 2. Python environment
if [ ! -x "$VENV/bin/python" ]; then
  step "creating $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
fi
if ! "$VENV/bin/python" -c "import airflow.providers.celery, celery, redis, psycopg2, psycopg, asyncpg" 2>/dev/null; then
  step "installing the Celery/PostgreSQL extras into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -c constraints-distributed.txt \
    apache-airflow-providers-celery 'celery[redis]' psycopg2-binary "psycopg[binary]" asyncpg
fi
"$VENV/bin/python" -c "import celery, sys; v = tuple(map(int, celery.__version__.split('.')[:2])); sys.exit(v >= (5, 7))" \
  || fail "celery >= 5.7 breaks apache-airflow-providers-celery 3.26; pin celery<5.7"
export PATH="$VENV/bin:$PATH"

# ---------------------------------------------------------------- 3. our own PostgreSQL cluster and Redis
step "starting PostgreSQL on $PG_PORT and Redis on $REDIS_PORT"
mkdir -p "$WORK/pg" "$WORK/pgsock"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg" "$WORK/pgsock"
as_pg "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres -A trust --no-sync >"$WORK/logs/initdb.log" 2>&1
if [ "$(id -u)" = 0 ]; then
  setsid runuser -u postgres -- "$PG_BIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pgsock" \
    -c listen_addresses=127.0.0.1 -c fsync=off >"$WORK/logs/postgres.log" 2>&1 &
else
  setsid "$PG_BIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pgsock" \
    -c listen_addresses=127.0.0.1 -c fsync=off >"$WORK/logs/postgres.log" 2>&1 &
fi
echo $! >"$PIDS/postgres.pid"
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no
for _ in $(seq 1 60); do
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres && break; sleep 0.25
done
"$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres || fail "PostgreSQL did not start (logs/postgres.log)"
"$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 \
  -c "CREATE USER airflow WITH PASSWORD 'airflow';" -c "CREATE DATABASE airflow OWNER airflow;" >/dev/null
for _ in $(seq 1 40); do
  "$VENV/bin/python" -c "import redis,sys; redis.Redis(port=$REDIS_PORT).ping()" 2>/dev/null && break; sleep 0.25
done

# ---------------------------------------------------------------- 4. Airflow configuration
secret() { "$VENV/bin/python" -c "import secrets; print(secrets.token_hex(32))"; }
export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
# CI drives every run itself (trigger, backfill): no cron runs for "yesterday" behind its back
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://airflow:airflow@127.0.0.1:$PG_PORT/airflow"
export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
AIRFLOW__API_AUTH__JWT_SECRET="$(secret)"; export AIRFLOW__API_AUTH__JWT_SECRET
AIRFLOW__API__SECRET_KEY="$(secret)"; export AIRFLOW__API__SECRET_KEY
AIRFLOW__CORE__FERNET_KEY="$("$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export AIRFLOW__CORE__FERNET_KEY
# every task parses its DAG file first (imports pipelines, GX, pandas: ~3 s idle); on a busy shared CI box that
# exceeded Airflow's 30 s default and tasks were rescheduled ("DagBag import timeout")
export AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="${DAGBAG_IMPORT_TIMEOUT:-180}"
export AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL=5
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export MARKET_MONITOR_HOME="$WORK/home-airflow"
export MARKET_MONITOR_THREADS="${MARKET_MONITOR_THREADS:-2}"
DSN="dbname=airflow user=airflow password=airflow host=127.0.0.1 port=$PG_PORT"

step "sample province into two homes"
SAMPLE="$("$VENV/bin/python" -c 'from pipelines.generate.sample import sample_landing; print(sample_landing())')"
mapfile -t DAYS < <("$VENV/bin/python" -c 'from pipelines.generate.sample import sample_days; [print(d) for d in sample_days()]')
[ ${#DAYS[@]} -ge 3 ] || fail "the bundled sample has fewer than 3 days"
RUN_DATE="${RUN_DATE:-${DAYS[0]}}"; BF_START="${DAYS[1]}"; BF_END="${DAYS[2]}"
for h in home-airflow home-cli; do mkdir -p "$WORK/$h"; cp -r "$SAMPLE" "$WORK/$h/landing"; done

step "airflow db migrate, pool, reserialize"
airflow db migrate >"$WORK/logs/migrate.log" 2>&1 || fail "airflow db migrate"
airflow pools set duckdb_writer 1 "one DuckDB writer per warehouse" >>"$WORK/logs/migrate.log" 2>&1
airflow dags reserialize >>"$WORK/logs/migrate.log" 2>&1 || fail "airflow dags reserialize"

# ---------------------------------------------------------------- 5. components
step "starting api-server :$API_PORT, scheduler, dag-processor, workers w1/w2"
start api-server airflow api-server --port "$API_PORT" --host 127.0.0.1
start scheduler airflow scheduler
start dag-processor airflow dag-processor
CELERY_WORKER_NAME=w1 AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$LOG1 start worker1 airflow celery worker -c 2 -H 'w1@%h'
CELERY_WORKER_NAME=w2 AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$LOG2 start worker2 airflow celery worker -c 2 -H 'w2@%h'

healthy=0
for _ in $(seq 1 240); do
  if curl -fsS "http://127.0.0.1:$API_PORT/api/v2/monitor/health" >/dev/null 2>&1 \
     && grep -q "w1@.* ready" "$WORK/logs/worker1.log" 2>/dev/null \
     && grep -q "w2@.* ready" "$WORK/logs/worker2.log" 2>/dev/null; then healthy=1; break; fi
  for n in api-server scheduler dag-processor worker1 worker2; do
    kill -0 "$(cat "$PIDS/$n.pid")" 2>/dev/null || fail "$n exited during startup (logs/$n.log)"
  done
  sleep 0.5
done
[ $healthy = 1 ] || fail "components not healthy within 120 s"
# the health answer must come from our api-server (another Airflow may hold a port: pitfall 2)
if command -v ss >/dev/null; then
  owner=$(ss -ltnpH "sport = :$API_PORT" | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
  api_pid=$(cat "$PIDS/api-server.pid")
  [ -n "$owner" ] && { [ "$owner" = "$api_pid" ] || pgrep -g "$api_pid" | grep -qx "$owner"; } \
    || fail "port $API_PORT is not held by our api-server (pid $api_pid, owner ${owner:-none})"
fi
step "healthy"

last_json() {  # -o json output: log lines come first; the JSON is the last line starting with '['
  "$VENV/bin/python" -c '
import json, sys
lines = [l for l in sys.stdin.read().splitlines() if l.startswith("[")]
if not lines:
    sys.exit("no JSON list in the output")
print(json.dumps(json.loads(lines[-1])))'
}

wait_runs() {  # wait_runs DAG_ID EXPECTED_COUNT TIMEOUT: until that many runs, all finished
  local dag=$1 want=$2 timeout=$3 t=0
  while [ "$t" -lt "$timeout" ]; do
    states=$(airflow dags list-runs "$dag" -o json 2>/dev/null | last_json \
      | "$VENV/bin/python" -c 'import json,sys; print(" ".join(r["state"] for r in json.load(sys.stdin)))' || true)
    n=$(wc -w <<<"$states"); done_n=$(grep -o -E 'success|failed' <<<"$states" | wc -l || true)
    if [ "$n" -ge "$want" ] && [ "$done_n" -eq "$n" ]; then
      grep -q failed <<<"$states" && fail "$dag: a run failed ($states)"
      return 0
    fi
    sleep 3; t=$((t + 3))
  done
  fail "$dag: runs not finished within ${timeout}s (states: $states)"
}

# ---------------------------------------------------------------- 6. the triggered daily run (two workers, alone)
step "trigger market_daily for $RUN_DATE"
RUN_ID=$(airflow dags trigger market_daily --conf "{\"business_date\": \"$RUN_DATE\"}" -o json 2>/dev/null \
  | last_json | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["dag_run_id"])') \
  || fail "could not trigger market_daily"
step "run $RUN_ID"
wait_runs market_daily 1 900   # under load (2 cores, load average 30) the run took 480 s
step "market_daily succeeded"
"$VENV/bin/python" tests/distributed/verify.py tasks "$DSN" market_daily "$RUN_ID" \
  || fail "task placement checks"
TIMING_TWO=$("$VENV/bin/python" tests/distributed/verify.py timing "$DSN" market_daily "$RUN_ID") \
  || fail "ingest timing of $RUN_ID"
step "ingest of $RUN_DATE with two workers: $TIMING_TWO"
# keep the run's marts before the backfill adds partitions
mkdir -p "$WORK/airflow-after-run" && cp -r "$WORK/home-airflow/marts" "$WORK/airflow-after-run/marts"

# ---------------------------------------------------------------- 7. the CLI reference, in the background
# `market-monitor run D0`, a snapshot of its marts, then `market-monitor backfill D1..D2` into another
# home: the same sequence the Airflow home goes through, run while Airflow backfills (started after the
# triggered run, so that run's ingest time is measured without the CLI competing for the cores).
step "CLI reference run ($RUN_DATE, then backfill $BF_START..$BF_END) in the background"
(
  set +e
  market-monitor run --home "$WORK/home-cli" --date "$RUN_DATE" --quiet
  rc=$?; [ $rc = 0 ] || [ $rc = 2 ] || exit $rc   # 2 = some input rejected (the rest published)
  mkdir -p "$WORK/cli-after-run" && cp -r "$WORK/home-cli/marts" "$WORK/cli-after-run/marts"
  market-monitor backfill --home "$WORK/home-cli" --start "$BF_START" --end "$BF_END" --quiet
  rc=$?; [ $rc = 0 ] || [ $rc = 2 ] || exit $rc
  exit 0
) >"$WORK/logs/cli.log" 2>&1 &
CLI_PID=$!
echo $CLI_PID >"$WORK/cli.pid"

wait_cli() {
  local rc=0
  wait "$CLI_PID" || rc=$?
  rm -f "$WORK/cli.pid"
  [ $rc = 0 ] || fail "CLI reference run failed ($rc, logs/cli.log)"
}

# ---------------------------------------------------------------- 8. backfill
read -r FROM TO < <("$VENV/bin/python" -c "
from datetime import date; from pipelines.core.dates import backfill_range
print(*backfill_range(date.fromisoformat('$BF_START'), date.fromisoformat('$BF_END')))")
step "airflow backfill create $FROM .. $TO"
airflow backfill create --dag-id market_daily --from-date "$FROM" --to-date "$TO" --max-active-runs 1 \
  >"$WORK/logs/backfill.log" 2>&1 || fail "airflow backfill create (logs/backfill.log)"
wait_runs market_daily 3 1500
mapfile -t ALL_RUNS < <(airflow dags list-runs market_daily -o json 2>/dev/null | last_json \
  | "$VENV/bin/python" -c 'import json,sys; [print(r["run_id"]) for r in json.load(sys.stdin)]')
step "backfill succeeded (${#ALL_RUNS[@]} runs); waiting for the CLI reference"
wait_cli

# ---------------------------------------------------------------- 9. compare (every check runs; any failure fails)
FAILED=()
"$VENV/bin/python" tests/distributed/verify.py compare "$WORK/airflow-after-run" "$WORK/cli-after-run" \
  || FAILED+=("Airflow marts differ from market-monitor run's for $RUN_DATE")
"$VENV/bin/python" tests/distributed/verify.py compare "$WORK/home-airflow" "$WORK/home-cli" \
  || FAILED+=("after the backfill, marts differ from market-monitor backfill's")
for d in "$RUN_DATE" "$BF_START" "$BF_END"; do
  ls "$WORK"/home-airflow/marts/*/"dt=$d"/part-0.parquet >/dev/null 2>&1 || FAILED+=("no partition dt=$d published")
done
extra=$(find "$WORK/home-airflow/marts" -maxdepth 2 -name 'dt=*' | grep -v -E "dt=($RUN_DATE|$BF_START|$BF_END)$" || true)
[ -z "$extra" ] || FAILED+=("partitions of unexpected business dates: $extra")
"$VENV/bin/python" tests/distributed/verify.py tasks "$DSN" market_daily "${ALL_RUNS[@]}" \
  || FAILED+=("task checks over all runs")
[ ${#FAILED[@]} = 0 ] || fail "$(printf '%s; ' "${FAILED[@]}")"

# ---------------------------------------------------------------- 10. the same day with one worker
# Both workers stop; worker w1 alone (same concurrency) starts on a fresh home with the same landing files, and
# market_daily runs the first day again: the ingest wall time with one worker, and the marts once more.
stop_worker() {
  local pid; pid=$(cat "$PIDS/$1.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$PIDS/$1.pid"
}
step "one worker: stopping w1 and w2, starting w1 alone on a fresh home"
stop_worker worker1; stop_worker worker2
mkdir -p "$WORK/home-one"; cp -r "$SAMPLE" "$WORK/home-one/landing"
MARKET_MONITOR_HOME="$WORK/home-one" CELERY_WORKER_NAME=w1 AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$LOG1 \
  start worker1-alone airflow celery worker -c 2 -H 'w1@%h'
for _ in $(seq 1 240); do
  grep -q "w1@.* ready" "$WORK/logs/worker1-alone.log" 2>/dev/null && break
  kill -0 "$(cat "$PIDS/worker1-alone.pid")" 2>/dev/null || fail "worker1-alone exited during startup"
  sleep 0.5
done
ONE_ID=$(airflow dags trigger market_daily --conf "{\"business_date\": \"$RUN_DATE\"}" -o json 2>/dev/null \
  | last_json | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[0]["dag_run_id"])') \
  || fail "could not trigger market_daily (one worker)"
wait_runs market_daily 4 900
TIMING_ONE=$("$VENV/bin/python" tests/distributed/verify.py timing "$DSN" market_daily "$ONE_ID") \
  || fail "ingest timing of $ONE_ID"
"$VENV/bin/python" -c "import json,sys; w = json.loads(sys.argv[1])['workers']; sys.exit(w != ['w1'])" "$TIMING_ONE" \
  || fail "the one-worker run's prepare tasks ran on $TIMING_ONE"
"$VENV/bin/python" tests/distributed/verify.py compare "$WORK/home-one" "$WORK/cli-after-run" \
  || fail "one-worker marts differ from market-monitor run's for $RUN_DATE"
step "ingest of $RUN_DATE with one worker: $TIMING_ONE"
"$VENV/bin/python" - "$TIMING_TWO" "$TIMING_ONE" <<'PY'
import json, sys
two, one = (json.loads(a) for a in sys.argv[1:3])
print(f"INGEST WALL TIME ({two['prepare_tasks']} prepare tasks, landed_files start -> register end): "
      f"two workers {two['ingest_wall_s']} s (prepare span {two['prepare_span_s']} s, register {two['register_s']} s); "
      f"one worker {one['ingest_wall_s']} s (prepare span {one['prepare_span_s']} s, register {one['register_s']} s); "
      f"ratio {one['ingest_wall_s'] / two['ingest_wall_s']:.2f}")
PY
step "PASS: triggered run and backfill on CeleryExecutor equal the CLI"
