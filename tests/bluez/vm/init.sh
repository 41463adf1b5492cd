#!/bin/busybox sh
# The guest's init (inside the initramfs): mount the host's root read-only over
# virtio-9p, give it writable tmpfs where bluetoothd, dbus and the tests write, mount
# the writable results share, and run guest.sh in it. The kernel passes BLUEZ_REPO
# and BLUEZ_MODE from its command line as environment variables.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

fail() {
  echo "bluez-guest init: $*" >&2
  echo b >/proc/sysrq-trigger
}

while read -r module; do
  insmod "/modules/$module.ko" || fail "cannot load $module"
done </modules/order

nine_p="trans=virtio,version=9p2000.L,msize=512000,cache=loose"
mount -t 9p -o "$nine_p,ro" hostroot /newroot || fail "cannot mount the host's root"
for dir in tmp run var/lib/bluetooth var/tmp; do
  mount -t tmpfs -o mode=1777 tmpfs "/newroot/$dir" || fail "cannot mount tmpfs on /$dir"
done
# The checkout may lie under a folder that just got a tmpfs (a clone in /tmp, as CI may
# make): it comes as a share of its own, mounted at its own path so that the venv's
# absolute paths still hold.
case "$BLUEZ_REPO/" in
  /tmp/* | /run/* | /var/lib/bluetooth/* | /var/tmp/*)
    mkdir -p "/newroot$BLUEZ_REPO"
    mount -t 9p -o "$nine_p,ro" repo "/newroot$BLUEZ_REPO" || fail "cannot mount the checkout"
    ;;
esac
mkdir -p /newroot/tmp/results
mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000" results /newroot/tmp/results || fail "cannot mount the results share"
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o mode=620,ptmxmode=666 devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm

exec chroot /newroot /bin/sh "$BLUEZ_REPO/tests/bluez/vm/guest.sh"
