#!/bin/sh
# Configures eth0 from the kernel command line of a swarmnet lab VM:
#   swarmnet.addr=192.0.2.11/24 swarmnet.gw=192.0.2.1
# and loads the modules IPVS and ESP need (modules-load.d runs before udev names eth0).
set -eu
addr=''; gw=''
for kv in $(cat /proc/cmdline); do
  case "$kv" in
    swarmnet.addr=*) addr=${kv#swarmnet.addr=} ;;
    swarmnet.gw=*) gw=${kv#swarmnet.gw=} ;;
  esac
done
/usr/sbin/ip link set lo up
/usr/sbin/ip link set eth0 up
if [ -n "$addr" ]; then /usr/sbin/ip addr replace "$addr" dev eth0; fi
if [ -n "$gw" ]; then /usr/sbin/ip route replace default via "$gw"; fi
