"""The nested end-to-end rig: L1 (a TCG-emulated AMD machine with /dev/kvm)
and the VMs run inside it (memvisor under test, or QEMU for comparison).

    l1 = L1.boot(artifacts)           # ~5-10 s
    rc, out = l1.run("cat /proc/meminfo")
    vm = l1.start_vm(memory="size=1G")
    vm.wait_ready(); rc, out = vm.run("nproc"); vm.poweroff(); vm.wait_exit()
    l1.shutdown()

Channels (see guest/mv-shell for the line protocol):
- L1's ttyS1 is a unix socket here; L1's mv-shell serves commands on it.
  L1's kernel console (ttyS0) goes to a file, so kernel messages never mix
  with command output.
- A VM's console is its VMM's stdin (a fifo) and stdout (a log file) inside
  L1; guest/mv-vm writes commands into the fifo and polls the log, so one
  L2 command costs one L1 round trip.
Every wait is bounded; a timeout raises RigTimeout, which fails the test.
"""

import base64
import os
import re
import select
import shlex
import sys
import shutil
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Multiplies every default timeout (slow CI machines).
SCALE = float(os.environ.get("MEMVISOR_E2E_TIMEOUT_SCALE", "1"))

L2_KERNEL = "/l2/vmlinuz"
L2_INITRD = "/l2/initrd.gz"
L2_CMDLINE = "console=ttyS0 memhp_default_state=online_movable"


def scaled(seconds):
    return int(seconds * SCALE)


# In a failure's message: a guest triple-faulted during early boot, before
# userspace (the emulated SVM's rare quirk under load, see README.md); the
# e2e conftest reruns such a test once, as it does when L1 dies.
EARLY_TRIPLE_FAULT = "[rig: early triple fault, nested-SVM quirk]"
# The same, for a guest that was running when it triple-faulted: seen once
# in eleven cow restores in the nested rig (a guest reading restored pages),
# and once more in CI in a cow restore of DIMMs (a guest reading 600M of
# them), never with a local KVM; a restored guest counts as running. Rerun like the early quirk, and listed as such in
# the summary, so a fault that comes back on every run still fails.
# The same quirk as a hang: a boot after a reboot that started (its kernel
# banner is there) and never reached userspace (seen once in CI: QEMU 7.2's
# own guest stuck at its SMBIOS scan on its second boot).
EARLY_HANG = "[rig: early-boot hang after a reboot, nested-SVM quirk]"
RUNNING_TRIPLE_FAULT = "[rig: triple fault of a running guest, nested-SVM quirk?]"


# Figures tests measure on the way (throughput, times), printed in the
# run's summary: a record of what the real guest did, never a pass/fail.
FIGURES = []


def record_figure(line):
    FIGURES.append(line)


class RigError(Exception):
    """The rig or a VM did something unexpected."""


class RigTimeout(RigError):
    """A bounded wait ran out."""


class Unavailable(Exception):
    """The rig cannot run here (no QEMU, no kernel): tests skip with this."""


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def parse_reply(data, prefix, cid):
    """Output and status of command cid in console data, or None if its end
    marker has not arrived. Tolerates noise around the markers (kernel
    messages, \\r) and output that does not end in a newline."""
    data = data.replace("\r", "")
    end = re.search(r"%s_END_%s (\d+)\." % (prefix, cid), data)
    if not end:
        return None
    begin = data.rfind("%s_BEGIN_%s\n" % (prefix, cid), 0, end.start())
    if begin < 0:
        raise RigError("%s command %s: end marker without begin marker" % (prefix, cid))
    out = data[begin + len("%s_BEGIN_%s\n" % (prefix, cid)) : end.start()]
    return int(end.group(1)), out


def strip_vmm_lines(out):
    """A guest command's output without the VMM's own stderr lines, which
    share the console log and may land anywhere in it, even mid-line (seen:
    an --autoscale decision inside a dmesg count)."""
    return re.sub(r"memvisor: [^\n]*\n", "", out)


_SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+ ?(.*)$")


def parse_smaps(text):
    """/proc/PID/smaps as a list of mappings, each a dict: start, end (ints),
    perms ("rw-s"), path ("" for anonymous), flags (the VmFlags set) and
    every "Field: N kB" line as field -> KiB (Size, Rss, KernelPageSize...)."""
    maps = []
    for line in text.replace("\r", "").splitlines():
        m = _SMAPS_HEAD.match(line)
        if m:
            maps.append({"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                         "perms": m.group(3), "path": m.group(4).strip(), "flags": set()})
        elif maps and line.startswith("VmFlags:"):
            maps[-1]["flags"] = set(line.split()[1:])
        elif maps:
            f = re.match(r"(\w+):\s+(\d+) kB$", line)
            if f:
                maps[-1][f.group(1)] = int(f.group(2))
    return maps


# --------------------------------------------------------------------------
# Building what L1 boots


class Artifacts:
    """Paths of everything L1 needs; build() makes them."""

    def __init__(self, vmlinuz, l1_initrd, l2_initrd, has_memvisor, has_qemu):
        self.vmlinuz = vmlinuz
        self.l1_initrd = l1_initrd
        self.l2_initrd = l2_initrd
        self.has_memvisor = has_memvisor
        self.has_qemu = has_qemu


def cache_dir():
    return os.environ.get("MEMVISOR_E2E_WORK", os.path.join(HERE, ".cache"))


def build(with_qemu=True, build_dir=None, l1=True):
    """Fetch the kernel and build the initramfs images (l1=False: only L2's,
    for Local). Raises Unavailable with a reason when the host lacks what
    the rig needs."""
    for tool, pkg in (
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("busybox", "busybox-static"),
        ("cpio", "cpio"),
        ("modinfo", "kmod"),
        ("apt-get", "apt"),
    ):
        if not shutil.which(tool):
            raise Unavailable("%s not found (apt-get install %s)" % (tool, pkg))
    p = subprocess.run(
        [os.path.join(HERE, "fetch-kernel.sh"), "--print"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if p.returncode != 0:
        raise Unavailable("guest kernel unavailable: " + p.stderr.strip())
    env = dict(line.split("=", 1) for line in p.stdout.split())
    work = cache_dir()
    os.makedirs(work, exist_ok=True)
    l2 = os.path.join(work, "l2.cpio.gz")
    mk = os.path.join(HERE, "mkinitramfs.sh")
    subprocess.run([mk, "l2", l2], check=True, timeout=300)
    build_dir = build_dir or os.environ.get("MEMVISOR_BUILD", os.path.join(REPO, "build"))
    bins = []
    for b in ("memvisor", "memvisor-ctl"):
        path = os.path.join(build_dir, b)
        if os.path.isfile(path):
            bins += ["--bin", path]
    has_memvisor = os.path.isfile(os.path.join(build_dir, "memvisor"))
    if not l1:
        return Artifacts(env["VMLINUZ"], None, l2, has_memvisor, True)
    l1_initrd = os.path.join(work, "l1.cpio.gz")
    # The virtio-pmem tests' ext4 root (cached), and debugfs to read it back in L1.
    if shutil.which("mkfs.ext4"):
        pmem = os.path.join(work, "pmem-root.img")
        subprocess.run([os.path.join(HERE, "mkpmemroot.sh"), pmem], check=True, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bins += ["--l2-pmem", pmem]
    if shutil.which("debugfs"):
        bins += ["--bin", shutil.which("debugfs")]
    # The host end of the vsock tests (a real peer on the device's Unix socket).
    if shutil.which("socat"):
        bins += ["--bin", shutil.which("socat")]
    # The vhost-user back-ends of the --fs and --disk vhost_user=on tests: Debian's, unmodified.
    for b in ("/usr/lib/qemu/virtiofsd", "/usr/bin/qemu-storage-daemon"):
        if os.path.isfile(b):
            bins += ["--bin", b]
    cmd = [mk, "l1", l1_initrd, "--l2-kernel", env["VMLINUZ"], "--l2-initrd", l2] + bins
    if with_qemu:
        cmd.append("--qemu")
    subprocess.run(cmd, check=True, timeout=300)
    return Artifacts(env["VMLINUZ"], l1_initrd, l2, has_memvisor, with_qemu)


class _VMHost:
    """Where VMs run: L1, or this machine when it has /dev/kvm (Local).
    Subclasses set art, vm_dir, l2_kernel, l2_initrd and provide run()."""

    _vm_seq = 0

    def _vm_name(self, kind):
        self._vm_seq += 1
        return "%s%d" % (kind, self._vm_seq)

    def start_vm(self, memory="size=1G", cpus=None, cmdline="", args=(), api_socket=False,
                 kernel=None, initramfs=None, name=None, env=None):
        """Start memvisor in L1 with the L2 guest; returns a VM.
        cmdline is appended to the default guest command line; args are
        extra memvisor arguments; api_socket=True adds --api-socket at
        vm.api_socket; env ({name: value}) is added to memvisor's
        environment."""
        if not self.art.has_memvisor:
            raise Unavailable("build/memvisor missing (run make)")
        name = name or self._vm_name("mv")
        d = self.vm_dir + "/" + name
        kernel = kernel or self.l2_kernel
        initramfs = self.l2_initrd if initramfs is None else initramfs
        argv = ["memvisor", "--kernel", kernel]
        if initramfs:
            argv += ["--initramfs", initramfs]
        argv += ["--cmdline", (L2_CMDLINE + " " + cmdline).strip(), "--serial", "tty"]
        if memory:
            argv += ["--memory", memory]
        if cpus:
            argv += ["--cpus", "boot=%d" % cpus]
        sock = None
        if api_socket:
            sock = d + "/api.sock"
            argv += ["--api-socket", sock]
        argv += list(args)
        if env:
            argv = ["env"] + ["%s=%s" % kv for kv in sorted(env.items())] + argv
        vm = VM(self, name, argv)
        vm.api_socket = sock
        self._started(vm)
        return vm

    def start_qemu(self, memory="512M", cpus=1, cmdline="", args=(), virtio_mem=None, name=None,
                   machine="q35", kernel=None, initramfs=None, accel="kvm", cpu="host"):
        """Start QEMU -accel kvm in L1 with the L2 guest, for comparisons.
        kernel/initramfs default to the L2 guest's.
        virtio_mem=(maxmem, size, requested) adds a virtio-mem-pci device
        'vm0' (e.g. ("4G", "1G", "128M")); vm.qmp_socket is QEMU's QMP."""
        if not self.art.has_qemu:
            raise Unavailable("L1 built without QEMU")
        name = name or self._vm_name("qemu")
        d = self.vm_dir + "/" + name
        kernel = kernel or self.l2_kernel
        initramfs = initramfs or self.l2_initrd
        mem = memory
        if virtio_mem:
            mem += ",maxmem=" + virtio_mem[0]
        argv = [
            "qemu-system-x86_64", "-accel", accel, "-cpu", cpu, "-M", machine,
            "-nodefaults", "-display", "none", "-monitor", "none", "-serial", "stdio",
            "-m", mem, "-smp", str(cpus),
            "-kernel", kernel, "-initrd", initramfs,
            "-append", (L2_CMDLINE + " " + cmdline).strip(),
            "-qmp", "unix:%s/qmp.sock,server=on,wait=off" % d,
        ]  # fmt: skip
        if virtio_mem:
            argv += [
                "-object", "memory-backend-ram,id=m0,size=" + virtio_mem[1],
                "-device", "virtio-mem-pci,id=vm0,memdev=m0,requested-size=" + virtio_mem[2],
            ]  # fmt: skip
        argv += list(args)
        vm = VM(self, name, argv)
        vm.qmp_socket = d + "/qmp.sock"
        self._started(vm)
        return vm

    def _started(self, vm):
        if "vms" not in self.__dict__:
            self.vms = []
        self.vms.append(vm)

    def running_triple_faults(self):
        """The VMs started here whose running guest triple-faulted and that
        no failure was blamed on yet; each is returned once. For a failure
        that reached the test another way than through VM._fail (a QMP
        socket gone with its VMM, say)."""
        found = []
        try:
            _, out = self.run("grep -l 'the guest triple-faulted' %s/*/out 2>/dev/null" % self.vm_dir, timeout=30)
        except RigError:
            return found
        names = {line.split("/")[-2] for line in out.split() if line.endswith("/out")}
        for vm in self.__dict__.get("vms", []):
            if getattr(vm, "_fault_blamed", False) or vm.name not in names:
                continue
            try:
                hit = vm.running_triple_fault()
            except RigError:
                continue
            if hit:
                vm._fault_blamed = True
                found.append(vm)
        return found


# --------------------------------------------------------------------------
# L1


class L1(_VMHost):
    """A booted L1. Use L1.boot(); always shutdown() (the fixture does)."""

    # 6G: L1's files (snapshots, pmem images) live in its rootfs, which may
    # take half of it; a snapshot test holds three snapshots and two clones.
    def __init__(self, art, workdir, memory="6G", smp=None, limit=None, accel=None, append=None):
        self.art = art
        self.workdir = workdir
        self.sock_path = os.path.join(workdir, "l1-cmd.sock")
        # QEMU's human monitor: where L1's vCPUs are when L1 stops answering.
        self.mon_path = os.path.join(workdir, "l1-mon.sock")
        self.console_path = os.path.join(workdir, "l1-console.log")
        self.qemu_log_path = os.path.join(workdir, "l1-qemu.log")
        self._buf = ""
        self._next_id = 1
        self.vm_dir = "/run/vm"
        self.l2_kernel = L2_KERNEL
        self.l2_initrd = L2_INITRD
        self.sock = None
        self.sock_closed = False
        self.boot_seconds = None
        # The whole L1 lives at most this long, whatever happens here: longer
        # than a whole e2e run (an L1 that never dies serves all of it).
        limit = limit or int(os.environ.get("MEMVISOR_E2E_L1_LIMIT", "5400"))
        # For measurements (tests/e2e/measure_l1_deaths.py): L1's vCPUs and
        # QEMU's accelerator options, e.g. MEMVISOR_E2E_L1_ACCEL=tcg,thread=single.
        smp = smp or int(os.environ.get("MEMVISOR_E2E_L1_SMP", "2"))
        accel = accel or os.environ.get("MEMVISOR_E2E_L1_ACCEL", "tcg")
        # More L1 kernel options, module ones too (rc.l1 hands "mod.key=val"
        # to insmod). The default, kvm_amd.npt=0, has L1's KVM shadow-page
        # its guests instead of using the nested paging TCG emulates: with
        # it, L1 died 0 times and no running guest triple-faulted in runs
        # that lost L1 or the guest every few minutes with it on
        # (tests/e2e/README.md). MEMVISOR_E2E_L1_APPEND= (empty) turns it off.
        append = append if append is not None else os.environ.get("MEMVISOR_E2E_L1_APPEND",
                                                                  "kvm_amd.npt=0")
        for p in (self.sock_path, self.mon_path, self.console_path):
            if os.path.exists(p):
                os.unlink(p)
        argv = [
            "timeout", "-k", "10", str(limit),
            "qemu-system-x86_64",
            "-accel", accel, "-cpu", "EPYC,+svm",
            "-m", memory, "-smp", str(smp),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-monitor", "unix:%s,server=on,wait=off" % self.mon_path,
            "-kernel", art.vmlinuz, "-initrd", art.l1_initrd,
            "-append", ("console=ttyS0 quiet panic=-1 " + append).strip(),
            "-serial", "file:" + self.console_path,
            "-chardev", "socket,id=cmd,path=%s,server=on,wait=off" % self.sock_path,
            "-serial", "chardev:cmd",
        ]  # fmt: skip
        self._qemu_log = open(self.qemu_log_path, "w")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._qemu_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @classmethod
    def boot(cls, art, workdir=None, timeout=None, **kw):
        workdir = workdir or cache_dir()
        os.makedirs(workdir, exist_ok=True)
        t0 = time.monotonic()
        l1 = cls(art, workdir, **kw)
        try:
            l1._connect(scaled(timeout or 120))
        except BaseException:
            l1.shutdown()
            raise
        l1.boot_seconds = time.monotonic() - t0
        return l1

    def _diag(self):
        def tail(path, n=30):
            try:
                with open(path, errors="replace") as f:
                    return "".join(f.readlines()[-n:])
            except OSError:
                return "(none)"

        return "\n--- L1 console ---\n%s--- L1 qemu ---\n%s" % (
            tail(self.console_path),
            tail(self.qemu_log_path),
        )

    # What the L1 kernel prints when it dies (or is about to).
    _DEATH = re.compile(r"(?:kernel BUG|BUG:|Kernel panic|Oops|general protection fault)[^\r\n]*")

    def console_offset(self):
        """Where L1's console ends now: death(since=...) looks only after it."""
        try:
            return os.path.getsize(self.console_path)
        except OSError:
            return 0

    def console_death_line(self, since=0):
        """The first kernel BUG/panic/oops line on L1's console after since, or None."""
        try:
            with open(self.console_path, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return None
        m = self._DEATH.search(text)
        return m.group(0).strip() if m else None

    def death(self, since=0, ping_timeout=15):
        """None while L1 lives; otherwise why it is dead: its QEMU exited (or
        closed L1's command socket), or it no longer answers a command within
        ping_timeout seconds after its console showed a kernel BUG/panic/oops
        (after since), or within twice that with no such message. A live L1
        that printed an oops and still answers is alive."""
        line = self.console_death_line(since)
        if self.proc.poll() is None and self.sock_closed:
            # QEMU closes the socket as it exits (a panic with -no-reboot):
            # give it the time to, and call it dead whatever happens.
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                return "L1's command socket closed%s" % (": " + line if line else "")
        if self.proc.poll() is not None:
            return "L1 QEMU exited (%s)%s" % (self.proc.returncode, ": " + line if line else "")
        try:
            _, out = self.run("echo l1-alive", timeout=ping_timeout if line else 2 * ping_timeout)
            if "l1-alive" in out:
                return None
        except (RigError, OSError):
            pass
        # Silent hangs happen too (seen: an L1 that printed nothing and
        # answered nothing for minutes): not answering at all is dead.
        return (line or "no kernel message") + " (L1 stopped answering%s)" % self.hang_facts()

    def _qemu_cpu_seconds(self):
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def monitor(self, command, timeout=5.0):
        """One command to L1's QEMU monitor; its output ('' when it does not answer)."""
        out = b""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as m:
                m.settimeout(timeout)
                m.connect(self.mon_path)
                m.sendall(command.encode() + b"\n")
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        chunk = m.recv(65536)
                    except socket.timeout:
                        break
                    if not chunk:
                        break
                    out += chunk
                    if out.rstrip().endswith(b"(qemu)") and out.count(b"(qemu)") >= 2:
                        break
        except OSError:
            pass
        return out.decode(errors="replace")

    def hang_facts(self):
        """What a hung L1 was doing: its QEMU's CPU use over 3 s (spinning, or
        stuck itself) and each vCPU's RIP and privilege level (info registers);
        the full register dump goes to l1-regs.hang.txt in the work directory."""
        c0 = self._qemu_cpu_seconds()
        time.sleep(3)
        c1 = self._qemu_cpu_seconds()
        regs = self.monitor("info registers -a")
        try:
            with open(os.path.join(self.workdir, "l1-regs.hang.txt"), "w") as f:
                f.write(regs)
        except OSError:
            pass
        facts = []
        if c0 is not None and c1 is not None:
            facts.append("QEMU used %.1f s of CPU in 3 s" % (c1 - c0))
        rips = re.findall(r"RIP=([0-9a-f]+)", regs)
        cpls = re.findall(r"CPL=(\d)", regs)
        if rips:
            facts.append("vCPU RIPs %s" % " ".join("%s(cpl%s)" % (r, c) for r, c in zip(rips, cpls)))
        elif c0 is not None:
            facts.append("its monitor did not answer")
        return ("; " + "; ".join(facts)) if facts else ""

    def kill(self, keep_console=None):
        """Kill L1's QEMU at once (a dead or hung L1: no poweroff). keep_console
        renames its console log so the next L1 does not overwrite it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if keep_console:
            regs = os.path.join(self.workdir, "l1-regs.hang.txt")
            for src, dst in ((self.console_path, keep_console),
                             (regs, keep_console.replace("l1-console.", "l1-regs.").replace(".log", ".txt"))):
                try:
                    os.replace(src, dst)
                except OSError:
                    pass
        self.shutdown()

    def _connect(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RigError("L1 QEMU exited (%s) during boot%s" % (self.proc.returncode, self._diag()))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock_path)
                self.sock = s
                break
            except (FileNotFoundError, ConnectionRefusedError):
                s.close()
            if time.monotonic() > deadline:
                raise RigTimeout("L1: command socket never appeared" + self._diag())
            time.sleep(0.05)
        self._read_until(re.compile(r"__L1_READY "), deadline, "L1 ready marker")
        # The marker proves mv-shell runs; a round trip proves it reads too.
        rc, out = self.run("test -c /dev/kvm && echo kvm-ok", timeout=max(5, deadline - time.monotonic()))
        if "kvm-ok" not in out:
            raise RigError("L1 booted without /dev/kvm: " + out + self._diag())

    def _read_until(self, pattern, deadline, what, start=0):
        """Read the socket until pattern matches self._buf[start:]."""
        while True:
            m = pattern.search(self._buf, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise RigTimeout("L1: timed out waiting for %s%s" % (what, self._diag()))
            if self.proc.poll() is not None:
                raise RigError("L1 QEMU exited (%s) waiting for %s%s" % (self.proc.returncode, what, self._diag()))
            r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if r:
                data = self.sock.recv(65536)
                if not data:
                    self.sock_closed = True
                    raise RigError("L1: command socket closed waiting for %s%s" % (what, self._diag()))
                self._buf += data.decode(errors="replace")

    def _send(self, line):
        # A dead L1 closes the socket: that is the rig's error, not Python's
        # (callers that survive a dead L1 catch RigError only).
        try:
            self.sock.sendall((line + "\n").encode())
        except OSError as e:
            self.sock_closed = True
            raise RigError("L1: command socket: %s%s" % (e, self._diag()))

    def run(self, cmd, timeout=60, check=False):
        """Run a shell command in L1; returns (status, output). Raises
        RigTimeout when it does not finish within timeout seconds."""
        cid = self._next_id
        self._next_id += 1
        b = _b64(cmd)
        start = len(self._buf)
        self._send("__L1_CMD %d %d %s" % (cid, len(b), b))
        deadline = time.monotonic() + timeout
        m = self._read_until(re.compile(r"__L1_END_%d \d+\." % cid), deadline, "command %r" % cmd[:200], start)
        rc, out = parse_reply(self._buf[start : m.end()], "__L1", cid)
        # Keep the buffer small; ids never repeat, so nothing is lost.
        self._buf = self._buf[m.end() :]
        if check and rc != 0:
            raise RigError("L1 command %r failed (%d):\n%s" % (cmd, rc, out))
        return rc, out

    def send(self, cmd):
        """Send a command without waiting for it (e.g. poweroff -f)."""
        cid = self._next_id
        self._next_id += 1
        b = _b64(cmd)
        self._send("__L1_CMD %d %d %s" % (cid, len(b), b))

    def shutdown(self):
        """Power L1 off and make sure its QEMU is gone. Idempotent."""
        if self.proc.poll() is None and self.sock is not None:
            try:
                self.send("poweroff -f")
            except OSError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._qemu_log.close()


class Local(_VMHost):
    """VMs run directly on this machine (it has /dev/kvm): the same VM API
    as L1, through the same guest/mv-vm script, without nesting."""

    boot_seconds = 0.0

    def __init__(self, art, build_dir=None):
        import tempfile

        self.art = art
        self.vm_dir = tempfile.mkdtemp(prefix="memvisor-e2e-")
        self.l2_kernel = art.vmlinuz
        self.l2_initrd = art.l2_initrd
        build_dir = build_dir or os.environ.get("MEMVISOR_BUILD", os.path.join(REPO, "build"))
        self.env = dict(os.environ)
        self.env["PATH"] = os.pathsep.join([os.path.join(HERE, "guest"), build_dir, self.env.get("PATH", "")])
        self.env["MV_VM_DIR"] = self.vm_dir
        self.proc = _Alive()

    def run(self, cmd, timeout=60, check=False):
        try:
            p = subprocess.run(["sh", "-c", cmd], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, errors="replace", env=self.env,
                               timeout=timeout)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise RigTimeout("local command %r did not finish within %ds" % (cmd[:200], timeout))
        if check and p.returncode != 0:
            raise RigError("local command %r failed (%d):\n%s" % (cmd, p.returncode, p.stdout))
        return p.returncode, p.stdout

    def console_offset(self):
        return 0

    def death(self, since=0, ping_timeout=15):
        return None  # this machine is the host: it does not die under a test

    def kill(self, keep_console=None):
        self.shutdown()

    def shutdown(self):
        for name in sorted(os.listdir(self.vm_dir)):
            self.run("mv-vm kill %s" % name, timeout=30)
        shutil.rmtree(self.vm_dir, ignore_errors=True)


class _Alive:
    """Stands in for L1's QEMU process: a Local host never dies."""

    returncode = None

    def poll(self):
        return None


_kvm_verdict = None


def memvisor_binary():
    """The memvisor to ask (MEMVISOR_BUILD's, else build/'s), built with make
    when neither exists. None when it cannot be built."""
    build_dir = os.environ.get("MEMVISOR_BUILD", os.path.join(REPO, "build"))
    for d in (build_dir, os.path.join(REPO, "build")):
        path = os.path.join(d, "memvisor")
        if os.access(path, os.X_OK):
            return path
    p = subprocess.run(["make", "-C", REPO, "-j2", "build/memvisor"], capture_output=True, text=True,
                       timeout=900)  # fmt: skip
    path = os.path.join(REPO, "build", "memvisor")
    return path if p.returncode == 0 and os.access(path, os.X_OK) else None


def kvm_verdict():
    """(usable, line): whether this machine's /dev/kvm can run a stock guest,
    by `memvisor --check-kvm` (a probe guest; a kvm_pvm /dev/kvm opens fine
    but cannot), and its one-line verdict. Asked once per process."""
    global _kvm_verdict
    if _kvm_verdict is None:
        if not os.path.exists("/dev/kvm"):
            _kvm_verdict = (False, "no /dev/kvm")
        else:
            exe = memvisor_binary()
            if exe is None:
                _kvm_verdict = (False, "memvisor could not be built to check /dev/kvm (run make)")
            else:
                try:
                    p = subprocess.run([exe, "--check-kvm"], stdin=subprocess.DEVNULL, capture_output=True,
                                       text=True, timeout=30)  # fmt: skip
                    line = (p.stdout.strip() or p.stderr.strip()).splitlines()
                    _kvm_verdict = (p.returncode == 0, line[-1] if line else "memvisor --check-kvm: no output")
                except subprocess.TimeoutExpired:
                    _kvm_verdict = (False, "memvisor --check-kvm did not answer within 30 s")
    return _kvm_verdict


def kvm_usable():
    return kvm_verdict()[0]


def use_nested():
    """(nested, why): whether VMs run in the nested rig, and the reason to print."""
    if os.environ.get("MEMVISOR_E2E_NESTED") == "1":
        return True, "MEMVISOR_E2E_NESTED=1"
    ok, line = kvm_verdict()
    return not ok, line


# --------------------------------------------------------------------------
# VMs inside L1


class VM:
    """A VMM process in L1 (memvisor or QEMU) and its L2 guest."""

    api_socket = None
    qmp_socket = None

    def __init__(self, l1, name, argv):
        self.l1 = l1
        self.name = name
        self.argv = argv
        self._next_id = 1
        self._not_ready = None
        rc, out = l1.run("mv-vm start %s %s" % (name, " ".join(shlex.quote(a) for a in argv)), timeout=20)
        if rc != 0 or not out.strip().isdigit():
            raise RigError("could not start %s: %s" % (name, out))
        self.pid = int(out.strip())

    def _mv(self, args, timeout):
        return self.l1.run("mv-vm " + args, timeout=timeout)

    def log(self, offset=0):
        """The VMM's console output (guest ttyS0 + VMM stderr) so far."""
        return self._mv("log %s %d" % (self.name, offset), timeout=30)[1]

    def running_triple_fault(self):
        """Did this VMM stop because its guest triple-faulted after it was up
        (it announced itself, or it was restored), in the nested rig only?"""
        if not isinstance(self.l1, L1):
            return False
        log = self.log().replace("\r", "")
        return "memvisor: error: the guest triple-faulted" in log and (
            "__MV_READY" in log or "--restore" in self.argv)

    def _fail(self, cls, msg):
        try:
            tail = self.log()[-4000:]
            rc, status = self.l1.run("cat %s/%s/status" % (self.l1.vm_dir, self.name), timeout=10)
            if rc == 0:
                msg += " (VMM exit status %s)" % status.strip()
        except RigError:
            tail = "(log unavailable)"
        # Up: it announced itself, or it is a restored guest (it was running when saved).
        if (isinstance(self.l1, L1) and "triple-faulted" in tail and EARLY_TRIPLE_FAULT not in msg
                and ("--restore" in self.argv or "__MV_READY" in self.log())):
            msg += " " + RUNNING_TRIPLE_FAULT
            self._fault_blamed = True
        raise cls("%s: %s\n--- %s console (tail) ---\n%s" % (self.name, msg, self.name, tail))

    def wait_ready(self, timeout=None, count=1):
        """Wait until the guest's mv-shell announced itself count times
        (count=2: the guest booted twice). Returns the boot ids seen."""
        if self._not_ready is not None and count <= self._not_ready[0]:
            # A shared VM that did not come up once fails at once after.
            raise self._not_ready[1]
        timeout = timeout or scaled(120)
        try:
            try:
                self._wait_ready(timeout, count)
            except RigError:
                if not self._early_triple_fault(count):
                    raise
                self._wait_ready(timeout, count)
        except RigError as e:
            self._not_ready = (count, e)
            raise
        return self.boot_ids()

    def _early_triple_fault(self, count):
        """The nested rig's one known flake: under heavy load the emulated SVM
        (TCG) rarely lets a guest triple-fault while the kernel sets up
        XSAVE/alternatives, before userspace (QEMU guests in L1 share the
        XSAVE quirk, see tests/e2e/README.md). Only for a first boot that died
        that way before any ready marker: start the same VMM once more, and
        say so. Anything else fails the test as before."""
        if count != 1 or getattr(self, "_restarted", False):
            return False
        log = self.log()
        if "triple-faulted" not in log or "__MV_READY" in log:
            return False
        print("rig: %s: guest triple-faulted during early boot (nested-SVM quirk); "
              "restarting it once" % self.name, file=sys.stderr)
        self._restarted = True
        self.name = self.name + "r"
        rc, out = self.l1.run("mv-vm start %s %s" % (self.name, " ".join(shlex.quote(a) for a in self.argv)),
                              timeout=20)
        if rc != 0 or not out.strip().isdigit():
            raise RigError("could not restart %s: %s" % (self.name, out))
        self.pid = int(out.strip())
        return True

    def _hung_after_reboot(self, count):
        """Did the count-th boot start (its kernel banner) and stop short of its
        ready marker, all earlier boots having reached theirs?"""
        log = self.log().replace("\r", "")
        return (len(re.findall(r"__MV_READY [0-9a-f-]{36}", log)) == count - 1
                and len(re.findall(r"Linux version \d", log)) >= count)

    def _triple_fault_before_ready(self, count):
        """Did the guest triple-fault on its count-th boot, before that boot's
        ready marker (the nested rig's known early-boot quirk)?"""
        log = self.log().replace("\r", "")
        return "triple-faulted" in log and len(re.findall(r"__MV_READY [0-9a-f-]{36}", log)) < count

    def _wait_ready(self, timeout, count):
        # The whole boot id, so a marker still arriving does not count.
        ready = shlex.quote(r"__MV_READY [0-9a-f-]\{36\}")
        rc, _ = self._mv("wait %s %s %d %d" % (self.name, ready, count, timeout), timeout + 15)
        if rc == 124:
            msg = "guest not ready (x%d) within %ds" % (count, timeout)
            if count > 1 and isinstance(self.l1, L1) and self._hung_after_reboot(count):
                msg += " " + EARLY_HANG
            self._fail(RigTimeout, msg)
        if rc == 125:
            msg = "VMM exited before the guest was ready (x%d)" % count
            if (count > 1 or getattr(self, "_restarted", False)) and self._triple_fault_before_ready(count):
                # The same nested-SVM quirk as above, on a boot after a reboot
                # or again on the restarted first boot: conftest reruns the
                # test once when it sees this token.
                msg += " " + EARLY_TRIPLE_FAULT
            self._fail(RigError, msg)
        if rc != 0:
            self._fail(RigError, "mv-vm wait failed (%d)" % rc)

    def boot_ids(self):
        return re.findall(r"__MV_READY ([0-9a-f-]{36})", self.log().replace("\r", ""))

    def run(self, cmd, timeout=60, check=False):
        """Run a shell command in the guest; returns (status, output)."""
        cid = self._next_id
        self._next_id += 1
        rc, out = self._mv("cmd %s %d %s %d" % (self.name, cid, _b64(cmd), timeout), timeout + 15)
        if rc == 124:
            self._fail(RigTimeout, "guest command %r did not finish within %ds" % (cmd, timeout))
        if rc == 125:
            self._fail(RigError, "VMM exited while running %r" % cmd)
        # The VMM's lines out first: one may have landed inside the end marker.
        reply = parse_reply(strip_vmm_lines(out), "__MV", cid)
        if rc != 0 or reply is None:
            self._fail(RigError, "guest command %r: no reply (%d)" % (cmd, rc))
        if check and reply[0] != 0:
            raise RigError("%s: guest command %r failed (%d):\n%s" % (self.name, cmd, reply[0], reply[1]))
        return reply

    def send(self, cmd):
        """Send a guest command without waiting for it (poweroff, reboot)."""
        cid = self._next_id
        self._next_id += 1
        b = _b64(cmd)
        line = "__MV_CMD %d %d %s" % (cid, len(b), b)
        rc, _ = self._mv("send %s %s" % (self.name, shlex.quote(line)), 20)
        if rc != 0:
            self._fail(RigError, "could not send %r (%d)" % (cmd, rc))

    def poweroff(self):
        self.send("poweroff")

    def reboot(self):
        self.send("reboot")

    def wait_exit(self, timeout=None):
        """Wait for the VMM to exit; returns its exit status."""
        timeout = timeout or scaled(60)
        rc, out = self._mv("wait-exit %s %d" % (self.name, timeout), timeout + 15)
        if rc == 124:
            self._fail(RigTimeout, "VMM did not exit within %ds" % timeout)
        status = int(out.strip())
        if status != 0:
            log = self.log().replace("\r", "")
            if (isinstance(self.l1, L1) and "memvisor: error: the guest triple-faulted" in log
                    and ("__MV_READY" in log or "--restore" in self.argv)):
                # The emulated SVM's quirk, now seen while the guest shut down.
                self._fail(RigError, "VMM exited %d after the guest triple-faulted" % status)
            # The caller asserts the status; this says why, in the failure report.
            sys.stderr.write("[rig] %s exited %d; console tail:\n%s\n" % (self.name, status, log[-3000:]))
        return status

    def kill(self):
        """SIGKILL the VMM (no-op if it already exited); returns its status."""
        rc, out = self._mv("kill %s" % self.name, 30)
        return int(out.strip()) if out.strip().isdigit() else None

    def alive(self):
        rc, _ = self.l1.run("test ! -e %s/%s/status" % (self.l1.vm_dir, self.name), timeout=10)
        return rc == 0

    def rss_kib(self):
        """The VMM's resident set size in KiB (VmRSS)."""
        rc, out = self.l1.run("grep VmRSS /proc/%d/status" % self.pid, timeout=10)
        if rc != 0:
            raise RigError("%s: no /proc/%d (exited?)" % (self.name, self.pid))
        return int(out.split()[1])

    def smaps(self):
        """The VMM's /proc/PID/smaps in L1, parsed (see parse_smaps)."""
        rc, out = self.l1.run("cat /proc/%d/smaps" % self.pid, timeout=30)
        if rc != 0:
            raise RigError("%s: no /proc/%d/smaps (exited?)" % (self.name, self.pid))
        return parse_smaps(out)

    def meminfo(self):
        """The guest's /proc/meminfo as {field: KiB}."""
        _, out = self.run("cat /proc/meminfo", check=True)
        info = {}
        for line in out.splitlines():
            m = re.match(r"(\w+):\s+(\d+)", line)
            if m:
                info[m.group(1)] = int(m.group(2))
        return info
