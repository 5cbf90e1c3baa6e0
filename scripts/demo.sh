#!/usr/bin/env bash
# The swarmnet demo, on one machine, as root: a 3-host lab (each host its own network,
# mount, pid and uts namespace, all on one underlay bridge), a cluster formed with
# init/join, an overlay network with one endpoint per host, the kernel entries an operator
# inspects, and traffic across hosts over vxlan; then everything is torn down, also when
# a step fails or the demo is interrupted.
set -euo pipefail
source "$(dirname "$0")/env.sh"

LAB=demo
swarmnet() { "$SWARMNET_ROOT/bin/swarmnet" "$@"; }
banner() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root (namespaces, mounts, veths)" >&2
  exit 1
fi

cleanup() {
  banner "Tearing the lab down"
  swarmnet lab down --name "$LAB" || true
}
trap cleanup EXIT

banner "Removing what a previous, interrupted demo may have left"
swarmnet lab down --name "$LAB"

banner "Bringing up a 3-host lab '$LAB' (underlay 192.0.2.0/24, ext at 203.0.113.10)"
swarmnet lab up --name "$LAB" 3

banner "Lab status"
swarmnet lab status --name "$LAB"

banner "Host 1 is '$(swarmnet lab exec --name "$LAB" 1 -- hostname)', host 2 is '$(swarmnet lab exec --name "$LAB" 2 -- hostname)'"

banner "Host 1 pings host 2 (192.0.2.12) across the underlay"
for _ in $(seq 1 25); do swarmnet lab exec --name "$LAB" 1 -- ping -c 1 -W 1 192.0.2.12 >/dev/null 2>&1 && break; sleep 0.2; done
swarmnet lab exec --name "$LAB" 1 -- ping -c 3 -i 0.2 192.0.2.12

banner "Host 2 reaches ext (203.0.113.10) through the switch"
swarmnet lab exec --name "$LAB" 2 -- ping -c 1 203.0.113.10

on() { local h=$1; shift; swarmnet lab exec --name "$LAB" "$h" -- "$@"; }
on_sw() { local h=$1; shift; on "$h" "$SWARMNET_ROOT/bin/swarmnet" "$@"; }

banner "Host 1: swarmnet init"
on_sw 1 init --advertise-addr 192.0.2.11
token=$(on_sw 1 join-token -q worker)

for h in 2 3; do
  banner "Host $h: swarmnet join"
  on_sw "$h" join --token "$token" 192.0.2.11:2377
done

banner "Host 1: swarmnet node ls"
on_sw 1 node ls

banner "Host 1: swarmnet network create demo-net"
on_sw 1 network create demo-net
on_sw 1 network ls

for h in 1 2 3; do
  banner "Host $h: attach an endpoint (a network sandbox) to demo-net"
  on_sw "$h" endpoint attach --id "web$h" demo-net
done
ip2=$(on_sw 2 endpoint ls --format json | sed -n 's/.*"ip": "\(10[0-9.]*\)".*/\1/p' | head -1)
vni=$(on_sw 1 network inspect demo-net | sed -n 's/.*"vni": \([0-9]*\).*/\1/p')

banner "Host 1: ip netns (overlay and sandbox namespaces are visible, unlike Docker's)"
on 1 ip netns

banner "Host 1: wait for the endpoints of hosts 2 and 3 to be gossiped and programmed"
for _ in $(seq 1 50); do
  [ "$(on 1 ip -n "sn-ov-$vni" neigh show dev vxlan0 | grep -c PERMANENT)" -ge 2 ] && break
  sleep 0.2
done
on 1 ip -n "sn-ov-$vni" neigh show dev vxlan0
on 1 bridge -n "sn-ov-$vni" fdb show dev vxlan0 | grep dst

banner "Host 1, endpoint web1 pings endpoint web2 ($ip2) on host 2 across the vxlan overlay"
on 1 ip netns exec sn-ep-web1 ping -c 3 -i 0.2 "$ip2"

banner "Host 1: a 3-replica whoami service on demo-net"
on_sw 1 service create --name web --replicas 3 --network demo-net -- "$SWARMNET_ROOT/bin/swarmnet" whoami --port 8080
for _ in $(seq 1 100); do
  [ "$(on_sw 1 service ps web --format json | grep -c '"state": "running"')" -eq 3 ] && break
  sleep 0.3
done
on_sw 1 service ls
on_sw 1 service ps web

banner "Task on host 1 asks every task of web over HTTP, across hosts"
tasks=$(on_sw 1 service ps web --format json)
first=$(printf '%s' "$tasks" | node -e 'const t=JSON.parse(require("fs").readFileSync(0,"utf8")).find(t=>t.node.endsWith("-1"));console.log(t.id)')
for ip in $(printf '%s' "$tasks" | node -e 'for (const t of JSON.parse(require("fs").readFileSync(0,"utf8"))) for (const a of t.addresses) console.log(a.ip)'); do
  echo "--- curl http://$ip:8080/ (from task ${first:0:12} on host 1)"
  on_sw 1 exec "$first" -- curl -s --max-time 3 "http://$ip:8080/"
done

banner "Done"
