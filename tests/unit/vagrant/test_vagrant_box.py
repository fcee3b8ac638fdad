"""The box build's commands and guest files, checked without root, VMs or Vagrant."""
from pathlib import Path

import pytest

from labctl import box
from labctl.providers.vagrant import rootfs


def test_host_mirror_from_deb822_and_one_line_sources():
    deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n"
    one_line = "deb [signed-by=/k.gpg] http://other.example/debian/ bookworm main\n"
    security = "URIs: http://deb.example/debian-security\n"
    assert box.host_mirror([security, deb822]) == "http://mirror.example/debian"
    assert box.host_mirror([one_line]) == "http://other.example/debian"
    assert box.host_mirror(["deb http://x.example/ubuntu jammy main\n"]) == box.FALLBACK_MIRROR


def test_debootstrap_command(tmp_path):
    cfg = box.BoxConfig(mirror="http://m.example/debian", work_dir=tmp_path / "w")
    cmd = box.debootstrap_command(cfg, tmp_path / "root")
    assert cmd[:2] == ["debootstrap", "--variant=minbase"]
    assert cmd[-3:] == ["bookworm", str(tmp_path / "root"), "http://m.example/debian"]
    included = next(a for a in cmd if a.startswith("--include=")).split("=", 1)[1].split(",")
    for pkg in ("openssh-server", "python3", "procps", "dbus", "linux-image-cloud-amd64", "crun",
                "containernetworking-plugins", "sudo"):
        assert pkg in included
    assert f"--cache-dir={tmp_path / 'debootstrap-debs'}" in cmd


def test_disk_is_made_without_loop_devices(tmp_path):
    cfg = box.BoxConfig(work_dir=tmp_path)
    cmds = box.disk_commands(cfg, Path("/t/rootfs"), Path("/t/out"))
    assert cmds[0] == ["truncate", "-s", "8G", "/t/out/root.raw"]
    assert cmds[1] == ["mkfs.ext4", "-q", "-F", "-L", "root", "-d", "/t/rootfs", "/t/out/root.raw"]
    assert cmds[2][:7] == ["qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd"]
    assert not any("losetup" in c[0] or c[0] == "mount" for c in cmds)


def test_box_metadata_vagrantfile_and_add(tmp_path):
    cfg = box.BoxConfig(name="b", work_dir=tmp_path)
    assert box.box_metadata(cfg) == {"provider": "libvirt", "format": "qcow2", "virtual_size": 8}
    vf = box.BOX_VAGRANTFILE % rootfs.KERNEL_CMDLINE
    assert 'lv.driver = "qemu"' in vf and "lv.cmd_line" in vf and "cmdline =" not in vf
    assert "root=LABEL=root" in vf and "net.ifnames=0" in vf
    assert box.box_add_command(cfg) == ["vagrant", "box", "add", "--force", "--name", "b",
                                        str(tmp_path / "b.box")]


def test_guest_files():
    files = rootfs.files("ssh-rsa AAAA vagrant insecure public key\n")
    assert files["etc/machine-id"] == ("", 0o444)          # every VM makes its own id
    assert files["home/vagrant/.ssh/authorized_keys"][0].startswith("ssh-rsa AAAA")
    assert "NOPASSWD:ALL" in files["etc/sudoers.d/vagrant"][0]
    assert "DHCP=ipv4" in files["etc/systemd/network/99-dhcp.network"][0]
    assert "Name=eth0" in files["etc/systemd/network/99-dhcp.network"][0]
    assert "UseHostname=no" in files["etc/systemd/network/99-dhcp.network"][0]   # no hostnamed at boot
    assert "ssh-keygen" in files["etc/systemd/system/ssh.service.d/hostkey.conf"][0]
    assert "virtio_net" in files["etc/initramfs-tools/modules"][0]
    assert files["etc/fstab"][0].split()[-1] == "0"          # no fsck of the root filesystem
    assert rootfs.UNITS_LINK == ("usr/local/lib/systemd/system", "/etc/labkube/units")


def test_no_console_login_and_no_login_sessions_yet_user_vagrant_may_log_in():
    """getty, logind and user-sessions are masked (nobody logs in at a console, the box has
    no pam_systemd); user-sessions was what removed /run/nologin, so tmpfiles must not make
    it, or pam_nologin would refuse Vagrant's user."""
    masked = next(c for c in rootfs.chroot_commands() if c[:2] == ["systemctl", "mask"])[2:]
    for unit in ["getty.target", "systemd-logind.service", "systemd-user-sessions.service"]:
        assert unit in masked
    for needed in ["ssh.service", "systemd-networkd.service", "dbus.service", "systemd-journald.service"]:
        assert needed not in masked
    override = rootfs.files("key")["etc/tmpfiles.d/systemd-nologin.conf"][0]
    assert [ln for ln in override.splitlines() if ln and not ln.startswith("#")] == []


def test_guest_commands_enable_networkd_and_make_the_user():
    cmds = rootfs.chroot_commands()
    assert ["systemctl", "enable", "systemd-networkd.service"] in cmds
    assert any(c[0] == "useradd" and "vagrant" in c for c in cmds)
    # one initrd, made after MODULES=list is set: debootstrap's kernel hook makes none
    assert box.DEBOOTSTRAP_ENV == {"INITRD": "No"}
    sed = cmds.index(["sed", "-i", "s/^MODULES=.*/MODULES=list/", "/etc/initramfs-tools/initramfs.conf"])
    assert cmds.index(["update-initramfs", "-c", "-k", "all"]) > sed


def test_preinstall_puts_labkube_where_the_vagrant_inventory_expects_it():
    import yaml
    root = Path(__file__).resolve().parents[3]
    group_vars = yaml.safe_load((root / "inventories/vagrant/group_vars/all.yml").read_text())
    assert rootfs.NODE_DATA_DIR == group_vars["kube_data_dir"]
    assert rootfs.NODE_VENV == group_vars["kube_venv"]
    install_defaults = (root / "roles/install/defaults/main.yml").read_text()
    assert 'wheelhouse_dir: "{{ kube_data_dir }}/wheelhouse"' in install_defaults
    assert rootfs.NODE_WHEELHOUSE == rootfs.NODE_DATA_DIR + "/wheelhouse"
    kubelet_tasks = (root / "roles/kubelet/tasks/main.yml").read_text()
    assert 'dest: "{{ kube_data_dir }}/images/preload/"' in kubelet_tasks
    assert rootfs.NODE_PRELOAD == rootfs.NODE_DATA_DIR + "/images/preload"


def test_preinstall_makes_the_venv_then_installs_offline_with_bytecode():
    venv, install = rootfs.preinstall_commands()[:2]
    assert venv == ["python3", "-m", "venv", "--without-pip", rootfs.NODE_VENV]
    assert install[:3] == [rootfs.NODE_UV, "pip", "install"]
    for flag in ("--offline", "--no-index", "--compile-bytecode"):
        assert flag in install
    assert install[install.index("--find-links") + 1] == rootfs.NODE_WHEELHOUSE
    assert install[install.index("--python") + 1] == rootfs.NODE_VENV + "/bin/python"
    assert install[-1] == "labctl"


def test_preinstall_imports_the_images_into_the_kubelets_store_after_the_install():
    root = Path(__file__).resolve().parents[3]
    kubelet_config = (root / "roles/kubelet/templates/kubelet.yaml.j2").read_text()
    assert "image_dir: {{ kube_data_dir }}/images\n" in kubelet_config
    assert rootfs.NODE_IMAGE_DIR == rootfs.NODE_DATA_DIR + "/images"
    assert rootfs.NODE_PRELOAD == rootfs.NODE_IMAGE_DIR + "/preload"
    commands = rootfs.preinstall_commands()
    installed_at = next(i for i, c in enumerate(commands) if c[0] == rootfs.NODE_UV)
    images = commands[-1]
    assert images[:2] == [rootfs.NODE_VENV + "/bin/python", "-c"] and installed_at < len(commands) - 1
    assert images[3] == rootfs.NODE_IMAGE_DIR


def _run_import(image_dir):
    import subprocess
    import sys
    code = rootfs.preinstall_commands()[-1][2]
    return subprocess.run([sys.executable, "-c", code, str(image_dir)], capture_output=True, text=True)


def test_the_image_import_leaves_a_store_the_kubelet_only_has_to_read(tmp_path):
    from labctl.images import ImageConfig, Rootfs, write_oci_archive
    from labkube.kubelet.images.store import ImageStore
    fs = Rootfs()
    fs.add_bytes("etc/motd", "hi\n")
    (tmp_path / "images" / "preload").mkdir(parents=True)
    write_oci_archive(str(tmp_path / "images" / "preload" / "tiny.tar"), "tiny:1", [fs.render()],
                      ImageConfig(cmd=["true"]))
    done = _run_import(tmp_path / "images")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["docker.io/library/tiny:1"]
    rootfs_dirs = list((tmp_path / "images" / "rootfs").iterdir())
    assert [(d / "rootfs" / "etc" / "motd").read_text() for d in rootfs_dirs] == ["hi\n"]
    # the kubelet's own import at its start: the same reference, nothing unpacked again
    store = ImageStore(str(tmp_path / "images"))
    assert store.resolve("tiny:1") is not None
    assert store.import_preload() == ["docker.io/library/tiny:1"]
    assert list((tmp_path / "images" / "rootfs").iterdir()) == rootfs_dirs


def test_the_image_import_fails_when_there_is_no_image(tmp_path):
    (tmp_path / "images" / "preload").mkdir(parents=True)
    done = _run_import(tmp_path / "images")
    assert done.returncode != 0
    assert "no image archive imported from" in done.stderr



def test_the_tree_goes_to_a_tmpfs_with_room_else_the_work_dir(tmp_path):
    from types import SimpleNamespace

    def statvfs(free_gib):
        def fake(path):
            if free_gib is None:
                raise FileNotFoundError(path)
            return SimpleNamespace(f_bavail=free_gib * (1 << 30) // 4096, f_frsize=4096)
        return fake
    for free_gib, expected in ((8, Path("/dev/shm")), (1, tmp_path), (None, tmp_path)):
        assert box.tree_parent(tmp_path, statvfs=statvfs(free_gib)) == expected, free_gib


@pytest.mark.parametrize("vagrantfile, current", [
    (box.BOX_VAGRANTFILE % rootfs.KERNEL_CMDLINE, True),
    ("# The labctl Debian 12 box: direct kernel boot under QEMU (no KVM needed).\n", False),  # format 1
    (None, False),                                                                          # not there
])
def test_a_box_of_an_older_format_is_rebuilt_by_up(tmp_path, monkeypatch, vagrantfile, current):
    if vagrantfile is not None:
        d = tmp_path / "boxes" / "labctl-debian12" / "0" / "libvirt"
        d.mkdir(parents=True)
        (d / "Vagrantfile").write_text(vagrantfile)
    assert box.box_current("labctl-debian12", home=tmp_path) is current
    monkeypatch.setenv("VAGRANT_HOME", str(tmp_path))
    monkeypatch.setattr(box, "box_installed", lambda name: vagrantfile is not None)
    built = []
    monkeypatch.setattr(box, "build_box", lambda cfg, log: built.append(cfg.name) or {"debootstrap_s": 1.0})
    box.ensure_box("labctl-debian12", work_dir=tmp_path / "work")
    assert built == ([] if current else ["labctl-debian12"])


def test_the_box_has_no_public_ca_bundle():
    """The lab VMs trust only the lab's CA; a public bundle costs every labkube process
    its parsing under emulation (aiohttp makes a default SSL context on import)."""
    assert "ca-certificates" not in rootfs.PACKAGES
