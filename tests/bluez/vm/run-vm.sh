#!/bin/sh
# Boot the BlueZ test guest under qemu (software emulation) and bring its results out.
#
# usage: run-vm.sh BUILD_DIR MODE   (MODE: test, bench, all (both) or shell)
# The guest writes into BUILD_DIR/results (junit.xml, pytest.log, bluetoothd.log,
# the traces and records of each test, rc); this script exits with the guest's
# status, or 1 when the guest never reported one.
set -eu
out=${1:?usage: run-vm.sh BUILD_DIR MODE}
mode=${2:-test}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
results=$out/results
timeout_s=${BLUEZ_VM_TIMEOUT_S:-1200}

command -v qemu-system-x86_64 >/dev/null \
  || { echo "run-vm: no qemu-system-x86_64: install qemu-system-x86" >&2; exit 1; }
rm -rf "$results"
mkdir -p "$results"
echo "run-vm: booting the guest (qemu, -accel tcg) for '$mode'; results in $results"
started=$(date +%s)
status=0
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp "${BLUEZ_VM_CPUS:-2}" -m 2048 \
  -nographic -no-reboot -nic none \
  -kernel "$out/vmlinuz" -initrd "$out/initramfs.gz" \
  -append "console=ttyS0 quiet panic=-1 BLUEZ_REPO=$repo BLUEZ_MODE=$mode" \
  -fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=repo,path=$repo,security_model=none,readonly=on,multidevs=remap" \
  -device virtio-9p-pci,fsdev=repo,mount_tag=repo \
  -fsdev "local,id=results,path=$results,security_model=none" \
  -device virtio-9p-pci,fsdev=results,mount_tag=results \
  </dev/null | tee "$results/console.log" || status=$?
elapsed=$(( $(date +%s) - started ))
if [ "$status" = 124 ]; then
  echo "run-vm: the guest did not finish within $timeout_s s (console: $results/console.log)" >&2
  exit 1
fi
if [ ! -s "$results/rc" ]; then
  echo "run-vm: the guest stopped without a result after $elapsed s (console: $results/console.log)" >&2
  exit 1
fi
rc=$(cat "$results/rc")
echo "run-vm: guest '$mode' finished with status $rc after $elapsed s"
exit "$rc"
