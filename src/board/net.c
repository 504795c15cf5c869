#include "board/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/options.h"
#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "virtio/net_save.h"
#include "virtio/pci_save.h"

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

#define TAP_OFFLOADS (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)

/*
 * The tap's header size, nonblocking, and whether it takes the checksum
 * and TSO offloads (tried, then off until a driver accepts them); 0 or
 * -errno with what failed in why.
 */
static int tap_setup_fd(int fd, bool *offloads, const char **why)
{
	int hdr = VNET_HDR_SIZE, fl;

	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		*why = "setting its vnet header size";
		return -errno;
	}
	*offloads = !ioctl(fd, TUNSETOFFLOAD, TAP_OFFLOADS);
	if (ioctl(fd, TUNSETOFFLOAD, 0)) {
		*why = "turning its offloads off";
		return -errno;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK)) {
		*why = "making it nonblocking";
		return -errno;
	}
	return 0;
}

/* An interface request on ifname, through an AF_INET socket. */
static int tap_ioctl(unsigned long req, struct ifreq *ifr, const char **why, const char *what)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0 || ioctl(s, req, ifr)) {
		ret = -errno;
		*why = what;
	}
	if (s >= 0)
		close(s);
	return ret;
}

static void tap_sin(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = addr};

	memcpy(sa, &sin, sizeof(sin));
}

/* ip=/mask=, host_mac=, mtu= on the tap, then up. */
static int tap_configure(const struct net_config *c, const char *ifname, const char **why)
{
	struct ifreq ifr;
	int ret;

#define IFR_RESET()                                                                                \
	do {                                                                                       \
		memset(&ifr, 0, sizeof(ifr));                                                      \
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);                        \
	} while (0)
	if (c->ip_addr) {
		IFR_RESET();
		tap_sin(&ifr.ifr_addr, c->ip_addr);
		ret = tap_ioctl(SIOCSIFADDR, &ifr, why, "setting its address (ip=)");
		if (ret)
			return ret;
		IFR_RESET();
		tap_sin(&ifr.ifr_netmask, c->ip_mask);
		ret = tap_ioctl(SIOCSIFNETMASK, &ifr, why, "setting its netmask (mask=)");
		if (ret)
			return ret;
	}
	if (c->keys & CONFIG_KEY_BIT(KEY_NET_HOST_MAC)) {
		IFR_RESET();
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, c->tap_mac, 6);
		ret = tap_ioctl(SIOCSIFHWADDR, &ifr, why, "setting its MAC address (host_mac=)");
		if (ret)
			return ret;
	}
	if (c->mtu) {
		IFR_RESET();
		ifr.ifr_mtu = c->mtu;
		ret = tap_ioctl(SIOCSIFMTU, &ifr, why, "setting its MTU (mtu=)");
		if (ret)
			return ret;
	}
	IFR_RESET();
	ret = tap_ioctl(SIOCGIFFLAGS, &ifr, why, "reading its flags");
	if (ret)
		return ret;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return tap_ioctl(SIOCSIFFLAGS, &ifr, why, "bringing it up");
#undef IFR_RESET
}

/* Lock held (the device's): what the driver accepted, the tap may now send it. */
static int tap_set_offloads(struct vnet *n, unsigned int off)
{
	struct board_net *bn = container_of(n, struct board_net, dev);
	unsigned int f = (off & VNET_OFF_CSUM ? TUN_F_CSUM : 0) |
			 (off & VNET_OFF_TSO4 ? TUN_F_TSO4 : 0) |
			 (off & VNET_OFF_TSO6 ? TUN_F_TSO6 : 0);

	return ioctl(bn->fd, TUNSETOFFLOAD, f) ? -errno : 0;
}

/* The tap of --net i into bn->fd and bn->ifname; 0 or -errno after one line naming it. */
static int tap_open(struct board *m, unsigned int i, struct board_net *bn)
{
	const struct net_config *c = &m->cfg->nets[i];
	const char *why = "opening /dev/net/tun";
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	if (c->keys & CONFIG_KEY_BIT(KEY_NET_FD)) {
		/* The caller's tap: it must be one, with the header this device speaks. */
		if (ioctl(c->fd, TUNGETIFF, &ifr)) {
			ret = -errno;
			mv_err(OPT_NAME_NET " id=%s: fd=%u: not a tap: %s", c->id, c->fd,
			       strerror(-ret));
			return ret;
		}
		if ((ifr.ifr_flags & TAP_FLAGS) != TAP_FLAGS) {
			mv_err(OPT_NAME_NET " id=%s: fd=%u: tap %s was opened without IFF_TAP, "
					    "IFF_NO_PI and IFF_VNET_HDR",
			       c->id, c->fd, ifr.ifr_name);
			return -EINVAL;
		}
		bn->fd = c->fd;
		snprintf(bn->ifname, sizeof(bn->ifname), "%s", ifr.ifr_name);
		ret = tap_setup_fd(bn->fd, &bn->offloads, &why);
		if (ret)
			mv_err(OPT_NAME_NET " id=%s: fd=%u: %s: %s", c->id, c->fd, why,
			       strerror(-ret));
		return ret;
	}
	bn->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	ret = bn->fd < 0 ? -errno : 0;
	if (!ret) {
		ifr.ifr_flags = TAP_FLAGS;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->tap ? c->tap : "vmtap%d");
		why = "creating or attaching the tap";
		ret = ioctl(bn->fd, TUNSETIFF, &ifr) ? -errno : 0;
	}
	if (!ret) {
		snprintf(bn->ifname, sizeof(bn->ifname), "%s", ifr.ifr_name);
		ret = tap_setup_fd(bn->fd, &bn->offloads, &why);
	}
	if (!ret)
		ret = tap_configure(c, bn->ifname, &why);
	if (ret) {
		mv_err(OPT_NAME_NET " id=%s: tap=%s: %s: %s%s", c->id,
		       c->tap	       ? c->tap
		       : bn->ifname[0] ? bn->ifname
				       : "vmtap<N>",
		       why, strerror(-ret),
		       ret == -EPERM || ret == -EACCES ? " (needs CAP_NET_ADMIN, or give fd=)"
		       : ret == -EBUSY		       ? " (another process holds it)"
						       : "");
		return ret;
	}
	return 0;
}

static int net_create_one(struct board *m, unsigned int i)
{
	const struct net_config *c = &m->cfg->nets[i];
	struct board_net *bn = &m->net[i];
	struct vnet_params prm = {.mtu = c->mtu, .queue_size = c->queue_size};
	int ret;

	bn->fd = -1;
	m->nr_net = i + 1;
	ret = tap_open(m, i, bn);
	if (ret)
		return ret;
	memcpy(prm.mac, c->guest_mac, 6);
	prm.fd = bn->fd;
	prm.offloads = bn->offloads;
	prm.set_offloads = tap_set_offloads;
	ret = vnet_init(&bn->dev, &prm, &m->vm.mem, &m->loop);
	if (ret) {
		mv_err(OPT_NAME_NET " id=%s: virtio-net: %s", c->id, strerror(-ret));
		return ret;
	}
	bn->dev_up = true;
	ret = virtio_pci_init(&bn->pci, &bn->dev.vdev, &m->pci, &m->loop, c->id);
	if (ret) {
		mv_err(OPT_NAME_NET " id=%s: virtio-pci: %s", c->id, strerror(-ret));
		return ret;
	}
	bn->pci_up = true;
	mv_info(OPT_NAME_NET " id=%s: tap %s, guest MAC %02x:%02x:%02x:%02x:%02x:%02x%s", c->id,
		bn->ifname, c->guest_mac[0], c->guest_mac[1], c->guest_mac[2], c->guest_mac[3],
		c->guest_mac[4], c->guest_mac[5], bn->offloads ? "" : ", no offloads");
	return 0;
}

int board_net_create(struct board *m)
{
	for (unsigned int i = 0; i < m->cfg->nr_nets; i++) {
		int ret = net_create_one(m, i);

		if (ret)
			return ret;
	}
	return 0;
}

void board_net_reset(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_net; i++)
		if (m->net[i].pci_up)
			virtio_pci_reset(&m->net[i].pci);
}

void board_net_pause(struct board *m, bool paused)
{
	for (unsigned int i = 0; i < m->nr_net; i++) {
		if (!m->net[i].pci_up)
			continue;
		virtio_pci_set_paused(&m->net[i].pci, paused);
		vnet_set_paused(&m->net[i].dev, paused);
	}
}

void board_net_destroy(struct board *m)
{
	for (unsigned int i = 0; i < m->nr_net; i++) {
		struct board_net *bn = &m->net[i];

		if (bn->pci_up)
			virtio_pci_destroy(&bn->pci);
		if (bn->dev_up)
			vnet_destroy(&bn->dev);
		if (bn->fd >= 0)
			close(bn->fd);
		bn->pci_up = bn->dev_up = false;
		bn->fd = -1;
	}
	m->nr_net = 0;
}

int board_net_save(struct board *m, enum board_phase ph, struct mv_state_writer *w, char *err,
		   size_t errlen)
{
	for (unsigned int i = 0; i < m->nr_net; i++) {
		if (ph == BOARD_PHASE_DEVICES && m->net[i].dev_up)
			vnet_save(&m->net[i].dev, m->cfg->nets[i].id, w);
		else if (ph == BOARD_PHASE_TRANSPORTS && m->net[i].pci_up)
			virtio_pci_save(&m->net[i].pci, w);
	}
	return 0;
}

int board_net_load(struct board *m, enum board_phase ph, const struct board_stream *s, char *err,
		   size_t errlen)
{
	char name[MV_STATE_NAME_MAX + 1];
	struct mv_state_section sec;
	int ret = 0;

	for (unsigned int i = 0; i < m->nr_net && !ret; i++) {
		struct board_net *bn = &m->net[i];
		const char *id = m->cfg->nets[i].id;

		if (ph == BOARD_PHASE_TRANSPORTS) {
			ret = virtio_pci_find_load(&bn->pci, s->p, s->len, err, errlen);
			/*
			 * The driver's receive buffers came back with the rings, and no
			 * kick will announce them: watch the tap now (a paused restore
			 * stops it again until cont).
			 */
			if (!ret && vnet_restored(&bn->dev)) {
				mv_errbuf(err, errlen,
					  OPT_NAME_NET " id=%s: tap %s refuses the offloads the "
						       "guest's driver had accepted",
					  id, bn->ifname);
				ret = -EIO;
			}
		} else if (ph == BOARD_PHASE_DEVICES) {
			vnet_state_name(id, name, sizeof(name));
			ret = mv_state_find(s->p, s->len, name, &sec, err, errlen);
			if (!ret)
				ret = vnet_load(&bn->dev, id, &sec, err, errlen);
		}
	}
	return ret;
}

int board_net_snapshot_check(struct board *m, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < m->cfg->nr_nets; i++)
		if (m->cfg->nets[i].keys & CONFIG_KEY_BIT(KEY_NET_FD)) {
			mv_errbuf(err, errlen,
				  OPT_NAME_NET " id=%s: fd=%u is the caller's tap, which a restore "
					       "cannot open again: give tap= to snapshot this VM",
				  m->cfg->nets[i].id, m->cfg->nets[i].fd);
			return -EINVAL;
		}
	return 0;
}
