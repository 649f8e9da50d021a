#!/bin/sh
# Start N dashboard app processes on 127.0.0.1:BASE_PORT.. (for nginx, deploy/render_nginx.py), or stop them.
#   deploy/run-processes.sh start 3 8501     # three processes on 8501-8503; logs, pids in $RUN_DIR
#   deploy/run-processes.sh stop
# Settings come from the environment (EMPLOYMENT_DB_URL, EMPLOYMENT_AUTH, EMPLOYMENT_PROXY_SECRET, ...). The
# processes listen on loopback only; nginx is the way in. Under systemd use deploy/systemd/employment@.service.
set -eu
cd "$(dirname "$0")/.."
RUN_DIR=${RUN_DIR:-/tmp/employment-dashboard}
PYTHON=${PYTHON:-.venv/bin/python}
action=${1:-}
case "$action" in
start)
    n=${2:-3}
    base=${3:-8501}
    # Proxy mode trusts request headers: it needs the shared secret nginx sends (docs/deployment.md).
    secret=${EMPLOYMENT_PROXY_SECRET:-}
    if [ "${EMPLOYMENT_AUTH:-}" = proxy ] && [ "${#secret}" -lt 32 ]; then
        echo "EMPLOYMENT_AUTH=proxy needs EMPLOYMENT_PROXY_SECRET (32 characters or more); not starting" >&2
        exit 2
    fi
    mkdir -p "$RUN_DIR"
    i=0
    while [ "$i" -lt "$n" ]; do
        port=$((base + i))
        if [ -f "$RUN_DIR/app-$port.pid" ] && kill -0 "$(cat "$RUN_DIR/app-$port.pid")" 2>/dev/null; then
            echo "port $port: already running (pid $(cat "$RUN_DIR/app-$port.pid"))"
        else
            # ui.serve warms the caches (the Overview, then every page) around Streamlit's own start.
            nohup "$PYTHON" -m ui.serve run app.py --server.port "$port" --server.address 127.0.0.1 \
                >"$RUN_DIR/app-$port.log" 2>&1 &
            echo $! >"$RUN_DIR/app-$port.pid"
            echo "port $port: started (pid $!)"
        fi
        i=$((i + 1))
    done
    echo "nginx: python deploy/render_nginx.py --ports $base-$((base + n - 1)) > /etc/nginx/conf.d/employment.conf"
    ;;
stop)
    for pidfile in "$RUN_DIR"/app-*.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null && echo "stopped pid $pid" || echo "pid $pid was not running"
        rm -f "$pidfile"
    done
    ;;
*)
    echo "usage: $0 start [N=3] [BASE_PORT=8501] | stop" >&2
    exit 2
    ;;
esac
