// SPDX-License-Identifier: GPL-2.0
/*
 * M-Bus master line discipline: /dev/mbusN
 *
 * write() sends one complete frame and returns once its response window
 * has closed; the reply, if any, is queued for read() on the same file.
 * read() returns one frame per call: replies to this file's write()s and
 * every frame on the bus that no exchange waited for. MBUS_IOC_XFER is the
 * atomic request/response exchange with retries. Every file has its own
 * parameters (timing, retries, wake-up, echo cancellation).
 */
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mbus.h"

/**
 * mbus_baud_valid() - whether @baud is one of the eight M-Bus rates
 * @baud: bits per second
 *
 * Return: true for 300, 600, 1200, 2400, 4800, 9600, 19200 and 38400.
 */
bool mbus_baud_valid(u32 baud)
{
	switch (baud) {
	case 300: case 600: case 1200: case 2400:
	case 4800: case 9600: case 19200: case 38400:
		return true;
	default:
		return false;
	}
}

static bool mbus_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static int mbus_open(struct inode *inode, struct file *file)
{
	struct mbus_port *port;
	struct mbus_file *mf;

	port = mbus_port_get(iminor(inode));
	if (!port)
		return -ENODEV;

	/* Charged to the opener's memory cgroup: opens cost its memory. */
	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf) {
		mbus_port_put(port);
		return -ENOMEM;
	}
	mf->port = port;
	mutex_init(&mf->read_lock);

	spin_lock(&port->lock);
	mf->params = port->defaults;
	list_add_tail(&mf->node, &port->files);
	mbus_rxq_file_open(port, mf);
	spin_unlock(&port->lock);

	file->private_data = mf;
	return stream_open(inode, file);
}

static int mbus_release(struct inode *inode, struct file *file)
{
	struct mbus_file *mf = file->private_data;
	struct mbus_port *port = mf->port;

	spin_lock(&port->lock);
	mbus_rxq_file_release(port, mf);
	list_del(&mf->node);
	spin_unlock(&port->lock);

	kfree(mf);
	mbus_port_put(port);
	return 0;
}

/*
 * Take the bus: -EINTR on a signal, -ENODEV once the port is gone. The
 * wait is as long as the users before us hold it, each at most
 * bus_hold_max_ms (mbus_hold_begin()).
 */
static int mbus_bus_lock(struct mbus_port *port)
{
	if (mutex_lock_interruptible(&port->bus_lock))
		return -EINTR;
	if (mbus_port_dead(port)) {
		mutex_unlock(&port->bus_lock);
		return -ENODEV;
	}
	mbus_hold_begin(port);
	return 0;
}

static void mbus_file_params(struct mbus_file *mf, struct mbus_params *p)
{
	spin_lock(&mf->port->lock);
	*p = mf->params;
	spin_unlock(&mf->port->lock);
}

/*
 * Copy a request from user space and validate it. Done before the bus is
 * taken: a buffer that faults slowly (userfaultfd, FUSE) must not hold the
 * bus, nor a detach that waits for it.
 */
static int mbus_copy_request(u8 *req, const u8 __user *buf, size_t len)
{
	if (!len || len > MBUS_FRAME_MAX)
		return -EINVAL;
	if (copy_from_user(req, buf, len))
		return -EFAULT;
	if (mbus_frame_check(req, len, NULL) != MBUS_EV_FRAME)
		return -EINVAL;
	return 0;
}

/* Make @req the request of the exchange about to run. */
static void mbus_set_request(struct mbus_port *port, const u8 *req,
			     size_t len)
{
	lockdep_assert_held(&port->bus_lock);
	memcpy(port->tx_buf, req, len);
	port->tx_len = len;
}

static ssize_t mbus_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct mbus_file *mf = file->private_data;
	struct mbus_port *port = mf->port;
	struct mbus_result res = {};
	u8 req[MBUS_FRAME_MAX];
	struct mbus_params p;
	int err;

	err = mbus_copy_request(req, (const u8 __user *)buf, count);
	if (err)
		return err;
	mbus_file_params(mf, &p);
	err = mbus_bus_lock(port);
	if (err)
		return err;
	mbus_set_request(port, req, count);
	err = mbus_xfer_once(port, &p, true, &res);
	if (!err && (res.status == MBUS_STATUS_FRAME ||
		     res.status == MBUS_STATUS_ACK)) {
		spin_lock(&port->lock);
		mbus_rxq_put(port, mf, res.data, res.len);
		spin_unlock(&port->lock);
		wake_up_interruptible(&port->wait);
	}
	mutex_unlock(&port->bus_lock);
	/* A signal in the window: the request went out whole all the same. */
	if (err == -EINTR && res.sent)
		return count;
	return err ? err : count;
}

/* Take the read lock; O_NONBLOCK never waits for another reader. */
static int mbus_read_lock(struct mbus_file *mf, bool nonblock)
{
	if (nonblock)
		return mutex_trylock(&mf->read_lock) ? 0 : -EAGAIN;
	return mutex_lock_interruptible(&mf->read_lock) ? -ERESTARTSYS : 0;
}

static ssize_t mbus_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct mbus_file *mf = file->private_data;
	bool nonblock = file->f_flags & O_NONBLOCK;
	u8 frame[MBUS_FRAME_MAX];
	u64 seq = 0;
	int len;

	for (;;) {
		len = mbus_read_lock(mf, nonblock);
		if (len)
			return len;
		len = mbus_rxq_peek(mf, frame,
				    min_t(size_t, count, sizeof(frame)), &seq);
		if (len != -EAGAIN || nonblock)
			break;
		/* Sleep without the lock, which O_NONBLOCK readers try. */
		mutex_unlock(&mf->read_lock);
		if (wait_event_interruptible(mf->port->wait,
					     mbus_rxq_pending(mf) ||
					     READ_ONCE(mf->port->dead)))
			return -ERESTARTSYS;
	}
	/* A bad buffer loses nothing: the frame stays queued. */
	if (len >= 0 && copy_to_user(buf, frame, len))
		len = -EFAULT;
	else if (len >= 0)
		mbus_rxq_pop(mf, seq);
	mutex_unlock(&mf->read_lock);
	return len;
}

static __poll_t mbus_poll(struct file *file, poll_table *wait)
{
	struct mbus_file *mf = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &mf->port->wait, wait);
	if (mbus_rxq_pending(mf))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(mf->port->dead))
		mask |= EPOLLHUP | EPOLLERR;
	else
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/**
 * mbus_default_params() - the parameters a port's files start with
 * @p: filled in: EN 13757-2 timing, MBUS_DEFAULT_RETRIES repeats, no
 *	wake-up preamble, no echo cancellation
 */
void mbus_default_params(struct mbus_params *p)
{
	memset(p, 0, sizeof(*p));
	p->retries = MBUS_DEFAULT_RETRIES;
}

/**
 * mbus_params_check() - validate link-layer parameters from user space
 * @p: the parameters (MBUS_IOC_SET_PARAMS, or the port defaults netlink sets)
 *
 * Return: 0, or -EINVAL for a value out of range, an unknown flag or a
 * reserved member that is not zero.
 */
int mbus_params_check(const struct mbus_params *p)
{
	if (p->reserved0 || !mbus_zeroed(p->reserved, sizeof(p->reserved)) ||
	    p->flags & ~MBUS_PARAM_FLAGS_ALL ||
	    p->retries > MBUS_RETRIES_MAX ||
	    p->wakeup_bytes > MBUS_WAKEUP_BYTES_MAX ||
	    p->response_timeout_us > MBUS_TIMEOUT_US_MAX ||
	    p->char_timeout_us > MBUS_TIMEOUT_US_MAX ||
	    p->wakeup_delay_us > MBUS_TIMEOUT_US_MAX)
		return -EINVAL;
	return 0;
}

static int mbus_ioc_set_params(struct mbus_file *mf, void __user *argp)
{
	struct mbus_params p;

	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if (mbus_params_check(&p))
		return -EINVAL;
	spin_lock(&mf->port->lock);
	mf->params = p;
	spin_unlock(&mf->port->lock);
	return 0;
}

static int mbus_ioc_set_baud(struct mbus_port *port, u32 __user *argp)
{
	u32 baud;
	int err;

	if (get_user(baud, argp))
		return -EFAULT;
	if (!mbus_baud_valid(baud))
		return -EINVAL;
	err = mbus_bus_lock(port);
	if (err)
		return err;
	err = mbus_line_set_baud(port, baud);
	mutex_unlock(&port->bus_lock);
	return err;
}

static int mbus_ioc_send_break(struct mbus_port *port, u32 __user *argp)
{
	u32 ms;
	int err;

	if (get_user(ms, argp))
		return -EFAULT;
	if (!ms || ms > MBUS_BREAK_MS_MAX)
		return -EINVAL;
	err = mbus_bus_lock(port);
	if (err)
		return err;
	err = mbus_send_break(port, ms);
	/* Slaves fall back to 300 Bd and forget their state on a break. */
	if (!err)
		mbus_bus_reset(&port->bus);
	mutex_unlock(&port->bus_lock);
	return err;
}

static int mbus_ioc_get_stats(struct mbus_port *port, void __user *argp)
{
	struct mbus_stats st;

	spin_lock(&port->lock);
	st = port->stats;
	spin_unlock(&port->lock);
	return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
}

/*
 * The outcome of an exchange into @x, the reply (or garbled bytes) into
 * @rx; called under bus_lock, while @res->data is valid.
 */
static void mbus_xfer_result(struct mbus_xfer *x, const struct mbus_result *res,
			     u8 *rx, u16 *rx_len)
{
	x->status = res->status;
	x->attempts = res->attempts;
	x->info = res->info;
	*rx_len = res->len;
	memcpy(rx, res->data, res->len);
}

/* Copy the reply out, after the bus was released; it must fit. */
static int mbus_xfer_copy_out(struct mbus_xfer *x, const u8 *rx, u16 len)
{
	if (len > x->rx_len) {
		x->rx_len = len;
		return -EMSGSIZE;
	}
	x->rx_len = len;
	if (len && copy_to_user(u64_to_user_ptr(x->rx_buf), rx, len))
		return -EFAULT;
	return 0;
}

static int mbus_ioc_set_addr(struct mbus_file *mf, void __user *argp)
{
	struct mbus_addr a;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (mbus_addr_check(&a))
		return -EINVAL;
	spin_lock(&mf->port->lock);
	mf->addr = a;
	spin_unlock(&mf->port->lock);
	return 0;
}

static int mbus_ioc_get_addr(struct mbus_file *mf, void __user *argp)
{
	struct mbus_addr a;

	spin_lock(&mf->port->lock);
	a = mf->addr;
	spin_unlock(&mf->port->lock);
	return copy_to_user(argp, &a, sizeof(a)) ? -EFAULT : 0;
}

static int mbus_ioc_xfer(struct mbus_file *mf, void __user *argp)
{
	struct mbus_port *port = mf->port;
	struct mbus_result res = {};
	u8 buf[MBUS_FRAME_MAX];
	struct mbus_params p;
	struct mbus_addr addr;
	struct mbus_xfer x;
	u16 rx_len = 0;
	int err;

	if (copy_from_user(&x, argp, sizeof(x)))
		return -EFAULT;
	if (x.flags & ~MBUS_XFER_FLAGS_ALL ||
	    !mbus_zeroed(x.reserved, sizeof(x.reserved)))
		return -EINVAL;
	if (!x.tx_len || x.tx_len > MBUS_FRAME_MAX)
		return -EINVAL;
	if (!(x.flags & MBUS_XFER_NO_REPLY) && !x.rx_len)
		return -EINVAL;

	spin_lock(&port->lock);
	p = mf->params;
	addr = mf->addr;
	spin_unlock(&port->lock);
	/* Addressed exchanges need a bound slave. */
	if (x.flags & MBUS_XFER_ADDRESSED && addr.type == MBUS_ADDR_NONE)
		return -EINVAL;
	/* User memory is touched only while the bus is not held. */
	err = mbus_copy_request(buf, u64_to_user_ptr(x.tx_buf), x.tx_len);
	if (err)
		return err;

	err = mbus_bus_lock(port);
	if (err)
		return err;
	mbus_set_request(port, buf, x.tx_len);
	err = mbus_xfer_run(port, &p, &addr, x.flags, &res);
	if (!err)
		mbus_xfer_result(&x, &res, buf, &rx_len);
	mutex_unlock(&port->bus_lock);
	if (err)
		return err;
	err = mbus_xfer_copy_out(&x, buf, rx_len);
	if (err && err != -EMSGSIZE)
		return err;
	if (copy_to_user(argp, &x, sizeof(x)))
		return -EFAULT;
	return err;
}

/* Commands that act on the bus or the file's link layer need write access. */
static bool mbus_ioc_needs_write(unsigned int cmd)
{
	switch (cmd) {
	case MBUS_IOC_XFER:
	case MBUS_IOC_SET_BAUD:
	case MBUS_IOC_SEND_BREAK:
	case MBUS_IOC_SET_PARAMS:
		return true;
	default:
		return false;
	}
}

static long mbus_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mbus_file *mf = file->private_data;
	struct mbus_port *port = mf->port;
	void __user *argp = (void __user *)arg;
	struct mbus_params p;

	if (mbus_ioc_needs_write(cmd) && !(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (mbus_port_dead(port))
		return -ENODEV;

	switch (cmd) {
	case MBUS_IOC_GET_BAUD:
		return put_user(READ_ONCE(port->baud), (u32 __user *)argp);
	case MBUS_IOC_SET_BAUD:
		return mbus_ioc_set_baud(port, argp);
	case MBUS_IOC_GET_PARAMS:
		mbus_file_params(mf, &p);
		return copy_to_user(argp, &p, sizeof(p)) ? -EFAULT : 0;
	case MBUS_IOC_SET_PARAMS:
		return mbus_ioc_set_params(mf, argp);
	case MBUS_IOC_GET_ADDR:
		return mbus_ioc_get_addr(mf, argp);
	case MBUS_IOC_SET_ADDR:
		return mbus_ioc_set_addr(mf, argp);
	case MBUS_IOC_GET_STATS:
		return mbus_ioc_get_stats(port, argp);
	case MBUS_IOC_SEND_BREAK:
		return mbus_ioc_send_break(port, argp);
	case MBUS_IOC_XFER:
		return mbus_ioc_xfer(mf, argp);
	default:
		return -ENOTTY;
	}
}

const struct file_operations mbus_fops = {
	.owner = THIS_MODULE,
	.open = mbus_open,
	.release = mbus_release,
	.read = mbus_read,
	.write = mbus_write,
	.poll = mbus_poll,
	.unlocked_ioctl = mbus_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
