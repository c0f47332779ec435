#!/usr/bin/env bash
# Start a real single-node SLURM cluster on this host for the `cluster` tests, as root:
# munged, MariaDB, slurmdbd (accounting: the Snakemake SLURM executor polls `sacct`),
# slurmctld and slurmd, from Debian's packages (slurm-wlm, slurmdbd, munge, mariadb-server).
#
#   bash tests/cluster/start_slurm.sh      # then: python -m pytest -m cluster
#   bash tests/cluster/stop_slurm.sh       # ends exactly the daemons this script started
#
# slurm.conf describes this host (its CPUs and memory, from `slurmd -C`), one partition `debug`
# and an account `magcore` for root. Everything the daemons write (state, logs, pid files, the
# MariaDB data directory) is in $MAGCORE_SLURM_DIR (default /var/tmp/magcore-slurm); the
# configuration goes to /etc/slurm (where sinfo, sbatch and sacct look for it), marked as
# written here. A munged already answering on the default socket is used, not replaced.
# Waits until `sinfo` shows the node idle and sbatch runs a job that sacct reports; exits
# non-zero (with the daemons' log tails) otherwise.
set -euo pipefail

STATE=${MAGCORE_SLURM_DIR:-/var/tmp/magcore-slurm}
CONF_DIR=/etc/slurm
MARKER="# written by magcore tests/cluster/start_slurm.sh"
DB_PORT=${MAGCORE_SLURM_DB_PORT:-13306}
DB_PASS=magcore-slurm-db
NODE=$(hostname -s)
PARTITION=debug
ACCOUNT=magcore
export PATH=$PATH:/usr/sbin:/sbin

[ "$(id -u)" = 0 ] || { echo "start_slurm.sh: run as root" >&2; exit 1; }
for tool in slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sinfo sacctmgr; do
    command -v "$tool" >/dev/null || {
        echo "start_slurm.sh: $tool not found; apt-get install slurm-wlm slurmdbd munge mariadb-server" >&2
        exit 1
    }
done
for f in slurm.conf slurmdbd.conf; do
    if [ -e "$CONF_DIR/$f" ] && ! grep -qF "$MARKER" "$CONF_DIR/$f"; then
        echo "start_slurm.sh: $CONF_DIR/$f exists and was not written by this script; not touching it" >&2
        exit 1
    fi
done
mkdir -p "$STATE"
if [ -e "$STATE/started" ]; then
    echo "start_slurm.sh: daemons from a previous start are recorded in $STATE/started; stopping them first"
    bash "$(dirname "$0")/stop_slurm.sh"
    mkdir -p "$STATE"
fi
: >"$STATE/started"   # one line per daemon this script started: name pidfile

dump_logs() {
    for log in "$STATE"/*.log; do
        [ -e "$log" ] && { echo "--- $log"; tail -n 25 "$log"; }
    done >&2
}
fail() { echo "start_slurm.sh: $*" >&2; dump_logs; exit 1; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local timeout=$1 what=$2
    shift 2
    local end=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -lt $end ] || fail "timed out after ${timeout}s waiting for $what"
        sleep 0.5
    done
}
started() { echo "$1 $2" >>"$STATE/started"; }

# --- munge: the key, then munged (unless one already answers on the default socket) ---------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    echo "munged: already running, using it"
else
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force
        else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
    fi
    install -m 0600 -o root -g root /etc/munge/munge.key "$STATE/munge.key"
    mkdir -p /run/munge && chmod 0755 /run/munge
    munged --force --key-file="$STATE/munge.key" --pid-file="$STATE/munged.pid" \
        --log-file="$STATE/munged.log" --seed-file="$STATE/munged.seed"
    started munged "$STATE/munged.pid"
    wait_for 20 "munged" sh -c 'munge -n | unmunge'
fi

# --- MariaDB on 127.0.0.1:$DB_PORT with its own data directory, for slurmdbd ----------------
if [ ! -d "$STATE/mysql/mysql" ]; then
    mariadb-install-db --user=root --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
        --skip-test-db >"$STATE/mariadb-install.log" 2>&1 || fail "mariadb-install-db failed"
fi
setsid mariadbd --no-defaults --user=root --datadir="$STATE/mysql" --socket="$STATE/mysqld.sock" \
    --pid-file="$STATE/mariadbd.pid" --bind-address=127.0.0.1 --port="$DB_PORT" \
    --log-error="$STATE/mariadbd.log" --innodb-buffer-pool-size=64M \
    --innodb-lock-wait-timeout=900 --max-allowed-packet=16M >/dev/null 2>&1 &
started mariadbd "$STATE/mariadbd.pid"
wait_for 60 "MariaDB" mariadb --no-defaults -S "$STATE/mysqld.sock" -u root -e "select 1"
mariadb --no-defaults -S "$STATE/mysqld.sock" -u root <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL

# --- configuration: this host's CPUs and memory ----------------------------------------------
mkdir -p "$CONF_DIR" "$STATE/slurmctld" "$STATE/slurmd"
read -r CPUS MEM < <(slurmd -C | awk '
    /^NodeName/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "CPUs") c = kv[2]}}
    /RealMemory=/ {for (i = 1; i <= NF; i++) {split($i, kv, "="); if (kv[1] == "RealMemory") m = kv[2]}}
    END {print c, m}')
[ -n "$CPUS" ] && [ -n "$MEM" ] || fail "could not read this host's CPUs and memory from slurmd -C"

cat >"$CONF_DIR/slurm.conf" <<EOF
$MARKER
# A single-node cluster on $NODE: $CPUS CPUs, $MEM MB (from slurmd -C), accounting in slurmdbd.
ClusterName=magcore
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=6819
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
JobCompType=jobcomp/none
KillWait=5
MinJobAge=300
InactiveLimit=0
Waittime=0
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

cat >"$CONF_DIR/slurmdbd.conf" <<EOF
$MARKER
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
chmod 0600 "$CONF_DIR/slurmdbd.conf"

# --- the SLURM daemons -----------------------------------------------------------------------
slurmdbd
started slurmdbd "$STATE/slurmdbd.pid"
wait_for 60 "slurmdbd" sacctmgr -i -n list cluster
sacctmgr -i add cluster magcore >/dev/null 2>&1 || true
slurmctld
started slurmctld "$STATE/slurmctld.pid"
slurmd
started slurmd "$STATE/slurmd.pid"
wait_for 60 "slurmctld" scontrol ping
sacctmgr -i add account "$ACCOUNT" cluster=magcore Description="magcore tests" >/dev/null 2>&1 || true
sacctmgr -i add user root account="$ACCOUNT" cluster=magcore >/dev/null 2>&1 || true
node_idle() { [ "$(sinfo -h -n "$NODE" -o %t 2>/dev/null)" = idle ]; }
end=$((SECONDS + 90))
until node_idle; do
    [ $SECONDS -lt $end ] || fail "node $NODE not idle: $(sinfo -h -N -o '%N %t %E' 2>&1)"
    # a node left down/drained by an earlier run of these daemons
    scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
    sleep 1
done

# --- sbatch runs a job, and sacct sees it ----------------------------------------------------
job=$(sbatch --parsable -A "$ACCOUNT" -p "$PARTITION" -n 1 -c 1 --mem 100 -t 1 -o /dev/null --wrap true) \
    || fail "sbatch failed"
job_done() { [ "$(sacct -n -X -P -j "$job" -o State 2>/dev/null)" = COMPLETED ]; }
wait_for 60 "test job $job to be COMPLETED in sacct" job_done
echo "SLURM cluster up: node $NODE ($CPUS CPUs, $MEM MB) idle in partition $PARTITION, account $ACCOUNT;" \
    "state and logs in $STATE"
