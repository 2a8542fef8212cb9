#!/bin/sh
# cluster-demo.sh runs a three-node Livehouse cluster on one machine: a private PostgreSQL and
# NATS server, an api+chat node, two media nodes, and nginx in front of them on one port.
# Ctrl-C stops everything; the state stays in $DEMO_DIR for the next run.
#
#   make build && scripts/cluster-demo.sh
#   open http://localhost:8080, go live with OBS on rtmp://localhost:1935/live/ (node media-1)
#   or rtmp://localhost:1936/live/ (node media-2)
#
# Needs Debian's postgresql (initdb, pg_ctl), nats-server and nginx. Set DEMO_DATABASE_URL or
# DEMO_NATS_URL to use servers you already run instead of starting private ones.
set -eu

BIN=${LIVEHOUSE_BIN:-$(pwd)/bin/livehouse}
DEMO_DIR=${DEMO_DIR:-$(pwd)/cluster-demo}
PORT=${DEMO_PORT:-8080}          # nginx, the one address users see
BASE=${DEMO_BASE_PORT:-18080}    # nodes listen on BASE+1, BASE+2, BASE+3
PG_PORT=${DEMO_PG_PORT:-55432}
NATS_PORT=${DEMO_NATS_PORT:-54222}
RTMP=${DEMO_RTMP_PORT:-1935}     # media-1's RTMP port; media-2 takes the next
WEBRTC=${DEMO_WEBRTC_PORT:-8189} # media-1's WebRTC UDP port; media-2 takes the next

[ -x "$BIN" ] || { echo "build first: make build (or set LIVEHOUSE_BIN)" >&2; exit 1; }
mkdir -p "$DEMO_DIR/logs"
pids=""
cleanup() {
	trap - INT TERM EXIT
	echo "stopping…"
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	[ -f "$DEMO_DIR/nginx.pid" ] && nginx -p "$DEMO_DIR" -c nginx.conf -s stop 2>/dev/null || true
	[ -n "${started_pg:-}" ] && pg_ctl -D "$DEMO_DIR/pg" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

# PostgreSQL: a private instance in the demo directory, on a Unix socket and loopback.
if [ -z "${DEMO_DATABASE_URL:-}" ]; then
	PATH=$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)
	if [ ! -d "$DEMO_DIR/pg" ]; then
		initdb -D "$DEMO_DIR/pg" -U postgres -A trust >"$DEMO_DIR/logs/initdb.log"
	fi
	pg_ctl -D "$DEMO_DIR/pg" -l "$DEMO_DIR/logs/postgres.log" -o "-p $PG_PORT -k $DEMO_DIR -c listen_addresses=127.0.0.1" -w start >/dev/null
	started_pg=1
	createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres livehouse 2>/dev/null || true
	DEMO_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/livehouse?sslmode=disable"
fi

# NATS: one server for the cluster's bus.
if [ -z "${DEMO_NATS_URL:-}" ]; then
	nats-server -a 127.0.0.1 -p "$NATS_PORT" >"$DEMO_DIR/logs/nats.log" 2>&1 &
	pids="$pids $!"
	DEMO_NATS_URL="nats://127.0.0.1:$NATS_PORT"
fi

# One secret for every node: stream keys and playback tokens must be readable by all.
[ -f "$DEMO_DIR/secret.key" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$DEMO_DIR/secret.key"

# node NAME ROLES HTTP_PORT RTMP_PORT WEBRTC_PORT
node() {
	mkdir -p "$DEMO_DIR/$1"
	env LIVEHOUSE_NODE_NAME="$1" LIVEHOUSE_ROLES="$2" \
		LIVEHOUSE_HTTP_ADDR="127.0.0.1:$3" LIVEHOUSE_RTMP_ADDR=":$4" LIVEHOUSE_WEBRTC_ADDR=":$5" \
		LIVEHOUSE_RTMPS_ADDR=off LIVEHOUSE_SRT_ADDR=off \
		LIVEHOUSE_NODE_URL="http://127.0.0.1:$3" \
		LIVEHOUSE_DATA_DIR="$DEMO_DIR/$1" LIVEHOUSE_DATABASE_URL="$DEMO_DATABASE_URL" LIVEHOUSE_NATS_URL="$DEMO_NATS_URL" \
		LIVEHOUSE_SECRET_KEY="$(cat "$DEMO_DIR/secret.key")" LIVEHOUSE_PUBLIC_URL="http://localhost:$PORT" \
		LIVEHOUSE_TRUST_PROXY=true \
		"$BIN" serve >"$DEMO_DIR/logs/$1.log" 2>&1 &
	pids="$pids $!"
}
# Nodes may start together: migrations run under a PostgreSQL advisory lock.
# The api node opens no RTMP listener; its rtmp_addr only tells streamers where to send.
node api "api,chat" $((BASE + 1)) "$RTMP" "$WEBRTC"
node media-1 media $((BASE + 2)) "$RTMP" "$WEBRTC"
node media-2 "media,edge" $((BASE + 3)) $((RTMP + 1)) $((WEBRTC + 1))

cat >"$DEMO_DIR/nginx.conf" <<EOF
pid $DEMO_DIR/nginx.pid;
error_log $DEMO_DIR/logs/nginx-error.log;
events {}
http {
	access_log $DEMO_DIR/logs/nginx-access.log;
	client_body_temp_path $DEMO_DIR/nginx-tmp;
	proxy_temp_path $DEMO_DIR/nginx-tmp;
	map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
	upstream api { server 127.0.0.1:$((BASE + 1)); }
	upstream chat { server 127.0.0.1:$((BASE + 1)); }
	# Any media or edge node serves any live channel (relaying from the ingesting node).
	upstream playback { server 127.0.0.1:$((BASE + 2)); server 127.0.0.1:$((BASE + 3)); }
	# A WHIP session's POST and DELETE must reach the same node.
	upstream whip { hash \$remote_addr consistent; server 127.0.0.1:$((BASE + 2)); server 127.0.0.1:$((BASE + 3)); }
	server {
		listen 127.0.0.1:$PORT;
		client_max_body_size 6m;
		proxy_set_header Host \$host;
		proxy_set_header X-Forwarded-For \$remote_addr;
		location / { proxy_pass http://api; }
		location /api/chat {
			proxy_pass http://chat;
			proxy_http_version 1.1;
			proxy_set_header Upgrade \$http_upgrade;
			proxy_set_header Connection \$connection_upgrade;
			proxy_read_timeout 120s;
		}
		location /api/whip { proxy_pass http://whip; }
		location /hls/ {
			proxy_pass http://playback;
			proxy_http_version 1.1;
			proxy_buffering off;      # blocking playlist reloads are answered when released
			proxy_read_timeout 30s;
		}
	}
}
EOF
mkdir -p "$DEMO_DIR/nginx-tmp"
nginx -p "$DEMO_DIR" -c nginx.conf

for port in $((BASE + 1)) $((BASE + 2)) $((BASE + 3)); do
	i=0
	until curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 150 ] || { echo "node on port $port did not come up; see $DEMO_DIR/logs" >&2; exit 1; }
		sleep 0.2
	done
done
echo "Livehouse cluster up: http://localhost:$PORT (logs in $DEMO_DIR/logs)"
echo "  api+chat node   http://127.0.0.1:$((BASE + 1))"
echo "  media-1 node    http://127.0.0.1:$((BASE + 2))  rtmp://localhost:$RTMP/live/"
echo "  media-2 node    http://127.0.0.1:$((BASE + 3))  rtmp://localhost:$((RTMP + 1))/live/"
echo "Ctrl-C stops it."
wait
