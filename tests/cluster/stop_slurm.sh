#!/usr/bin/env bash
# Stop the daemons tests/cluster/start_slurm.sh started, and only those: the pids in the pid
# files it recorded in $MAGCORE_SLURM_DIR/started, in reverse order (slurmd, slurmctld,
# slurmdbd, MariaDB, munged). Removes the slurm.conf and slurmdbd.conf it wrote, so that SLURM
# commands fail at once (and the `cluster` tests skip) instead of waiting for a controller.
set -uo pipefail

STATE=${MAGCORE_SLURM_DIR:-/var/tmp/magcore-slurm}
MARKER="# written by magcore tests/cluster/start_slurm.sh"
[ -f "$STATE/started" ] || { echo "stop_slurm.sh: nothing recorded in $STATE/started"; exit 0; }

tac "$STATE/started" | while read -r name pidfile; do
    pid=$(cat "$pidfile" 2>/dev/null) || { echo "$name: no pid file $pidfile"; continue; }
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "$name: pid $pid already gone"
        continue
    fi
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$name: pid $pid did not stop in 10 s; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
    fi
    echo "$name: stopped (pid $pid)"
done
rm -f "$STATE/started"
for f in /etc/slurm/slurm.conf /etc/slurm/slurmdbd.conf; do
    [ -f "$f" ] && grep -qF "$MARKER" "$f" && rm -f "$f"
done
exit 0
