#!/bin/sh
# Inside the guest (chrooted into the host's read-only root): start the Bluetooth
# stack a laptop runs (kernel + hci_vhci, D-Bus system bus, bluetoothd), run the
# BlueZ tests or the benchmark, leave their results in /tmp/results (the writable
# share the host reads), and power off.
set -u
repo=${BLUEZ_REPO:?}
mode=${BLUEZ_MODE:-test}
results=/tmp/results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp/home LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export BLUEZ_RESULTS=$results
mkdir -p "$HOME"

say() { echo "bluez-guest: $*"; }
finish() {
  echo "$1" >"$results/rc"
  sync
  say "done (exit status $1)"
  echo b >/proc/sysrq-trigger
  sleep 10
}

ip link set lo up || { say "cannot bring up lo"; finish 1; }
modprobe hci_vhci || { say "cannot load hci_vhci"; finish 1; }
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile || { say "cannot start dbus-daemon"; finish 1; }
bluetoothd=/usr/libexec/bluetooth/bluetoothd
[ -x "$bluetoothd" ] || bluetoothd=/usr/lib/bluetooth/bluetoothd
[ -x "$bluetoothd" ] || bluetoothd=$(command -v bluetoothd)
"$bluetoothd" -n >"$results/bluetoothd.log" 2>&1 &
say "kernel $(uname -r), $(nproc) cpus, bluetoothd $("$bluetoothd" --version)"

# run LOG COMMAND...: the command's output to LOG and the console; its status in $status.
run() {
  log=$1
  shift
  { "$@"; echo $? >/tmp/status; } 2>&1 | tee "$log"
  status=$(cat /tmp/status)
}

cd "$repo" || finish 1
case $mode in
  test)
    run "$results/pytest.log" .venv/bin/python -m pytest -p no:cacheprovider -p no:hypothesispytest \
      --junitxml="$results/junit.xml" -v -rA tests/bluez
    ;;
  all)
    run "$results/pytest.log" .venv/bin/python -m pytest -p no:cacheprovider -p no:hypothesispytest \
      --junitxml="$results/junit.xml" -v -rA tests/bluez
    tests_status=$status
    run "$results/bench.log" .venv/bin/python bench/bluez_stop_latency.py \
      --out "$results/bench.json"
    [ "$tests_status" = 0 ] || status=$tests_status
    ;;
  bench)
    run "$results/bench.log" .venv/bin/python bench/bluez_stop_latency.py \
      --out "$results/bench.json"
    ;;
  shell)
    run "$results/shell.log" sh -c '.venv/bin/python -c "import bleak, bumble" && ls -l /dev/vhci'

    ;;
  *) say "unknown mode $mode"; finish 2 ;;
esac
finish "${status:-1}"
